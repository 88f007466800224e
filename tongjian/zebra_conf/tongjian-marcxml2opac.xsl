<?xml version="1.0" encoding="UTF-8"?>
<!-- MARCXML of a Tongjian entry (tongjian zserver) -> YAZ's OPAC XML, which the YAZ
     front end turns into a Z39.50 OPAC record: the bibliographic record as it is, and one
     holding per 852 (馆藏): $a library code -> nucCode, $b location -> shelvingLocation,
     $h call number -> callNumber, $z note -> publicNote.  No circulation part: an OPAC
     circulation record must say availableNow, and the union catalogue does not know it
     (a member's live status is its own); the barcode stays in the record's 852 $p. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:marc="http://www.loc.gov/MARC21/slim">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:template match="/">
    <xsl:apply-templates select="//marc:record[1]"/>
  </xsl:template>
  <xsl:template match="marc:record">
    <opacRecord>
      <bibliographicRecord>
        <xsl:copy-of select="."/>
      </bibliographicRecord>
      <holdings>
        <xsl:for-each select="marc:datafield[@tag='852']">
          <holding>
            <xsl:if test="marc:subfield[@code='a']">
              <nucCode><xsl:value-of select="marc:subfield[@code='a']"/></nucCode>
            </xsl:if>
            <xsl:if test="marc:subfield[@code='b']">
              <shelvingLocation><xsl:value-of select="marc:subfield[@code='b']"/></shelvingLocation>
            </xsl:if>
            <xsl:if test="marc:subfield[@code='h']">
              <callNumber><xsl:value-of select="marc:subfield[@code='h']"/></callNumber>
            </xsl:if>
            <xsl:if test="marc:subfield[@code='z']">
              <publicNote><xsl:value-of select="marc:subfield[@code='z']"/></publicNote>
            </xsl:if>
          </holding>
        </xsl:for-each>
      </holdings>
    </opacRecord>
  </xsl:template>
</xsl:stylesheet>
