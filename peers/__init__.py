"""Peers: member systems to harvest from, running on loopback for the demo and the tests.

`oai_repository` is a real OAI-PMH data provider (pyoai's server) over our own records;
`symphony` and `koha` are simulators of SirsiDynix Symphony Web Services and the Koha REST
API, written from the vendors' published documentation because neither system can run
here.  Product packages (connectors, harvest, index, portal) never import this package;
only `tongjian.demo` and the tests start these servers.
"""
