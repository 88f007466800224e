"""Vocabulary for the catalogue generator, kept as plain data tables.

Why tables and not code: the realism of the demo (what a librarian sees in the portal) lives
here — real publishers with their cities and ISBN registrant prefixes, real CLC numbers for
real topics, real famous books — and reviewers should be able to correct a class number or
add a publisher without reading the generator.  Multi-word lists are written as one string
split on spaces (Chinese words contain no spaces), which keeps the tables short.

Facts are best knowledge, not authority: registrant prefixes are the ones printed on the
publishers' books as far as we know, CLC numbers follow the 5th edition.  The generator only
needs them to be *consistent*; the ISBNs it makes from them are synthetic.
"""

from __future__ import annotations

from typing import NamedTuple


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _rows(text: str) -> tuple[tuple[str, ...], ...]:
    """'王:wang:wang 李:li:li' → (('王', 'wang', 'wang'), ('李', 'li', 'li'))."""
    return tuple(tuple(row.split(":")) for row in text.split())


# --------------------------------------------------------------------------- publishers


class Publisher(NamedTuple):
    name: str
    city: str
    prefixes: tuple[tuple[str, int], ...]  # (ISBN registrant after 978-7-, first year used)
    roman: str  # ALA-LC romanization, as a MARC 21 library writes 260/264 $b
    areas: tuple[str, ...]  # CLC prefixes (or kind names) the press publishes in
    weight: float = 1.0
    unified: str = ""  # publisher part of the pre-1987 统一书号


PUBLISHERS: tuple[Publisher, ...] = (
    Publisher("人民文学出版社", "北京", (("02", 1987),), "Ren min wen xue chu ban she",
              _w("I2 I3 I5 I7 classic novel"), 4.0, "019"),
    Publisher("商务印书馆", "北京", (("100", 1987),), "Shang wu yin shu guan",
              _w("H B C K F Z G classic"), 3.0, "017"),
    Publisher("中华书局", "北京", (("101", 1987),), "Zhonghua shu ju",
              _w("K2 B2 I2 Z12 classic"), 3.0, "018"),
    Publisher("人民出版社", "北京", (("01", 1987),), "Ren min chu ban she",
              _w("A D F K2 B"), 2.0, "001"),
    Publisher("科学出版社", "北京", (("03", 1987),), "Ke xue chu ban she",
              _w("N O P Q R S T X V"), 3.0, "031"),
    Publisher("高等教育出版社", "北京", (("04", 1987),), "Gao deng jiao yu chu ban she",
              _w("A B C D F G H O R S T U X textbook"), 4.0, "010"),
    Publisher("人民教育出版社", "北京", (("107", 1987),), "Ren min jiao yu chu ban she",
              _w("G H O"), 1.5, "012"),
    Publisher("清华大学出版社", "北京", (("302", 1987),), "Qing hua da xue chu ban she",
              _w("TP TN TM TH TU O F27 F23 textbook"), 3.5, "235"),
    Publisher("机械工业出版社", "北京", (("111", 1987),), "Ji xie gong ye chu ban she",
              _w("TP TH TG TM TN TB U46 F27 F713"), 3.0, "033"),
    Publisher("电子工业出版社", "北京", (("121", 1987),), "Dian zi gong ye chu ban she",
              _w("TP TN TM"), 2.5, "290"),
    Publisher("人民邮电出版社", "北京", (("115", 1987),), "Ren min you dian chu ban she",
              _w("TP TN J4 J5"), 2.5, "045"),
    Publisher("北京大学出版社", "北京", (("301", 1987),), "Beijing da xue chu ban she",
              _w("B C D F G H I0 I2 K textbook"), 3.0, "209"),
    Publisher("中国人民大学出版社", "北京", (("300", 1987),),
              "Zhongguo ren min da xue chu ban she", _w("A C D F G"), 2.5, "011"),
    Publisher("社会科学文献出版社", "北京", (("80050", 1987), ("5097", 1996), ("5201", 2016)),
              "She hui ke xue wen xian chu ban she", _w("C D F G K Z5"), 2.0),
    Publisher("中国社会科学出版社", "北京", (("5004", 1987), ("5161", 2012), ("5227", 2018)),
              "Zhongguo she hui ke xue chu ban she", _w("A B C D F I0 I2 K"), 2.0, "190"),
    Publisher("生活·读书·新知三联书店", "北京", (("108", 1987),),
              "Sheng huo, du shu, xin zhi san lian shu dian", _w("B C I2 K J"), 1.5, "002"),
    Publisher("作家出版社", "北京", (("5063", 1987), ("5212", 2019)), "Zuo jia chu ban she",
              _w("I2 novel"), 2.5, "355"),
    Publisher("北京十月文艺出版社", "北京", (("5302", 1987),),
              "Beijing shi yue wen yi chu ban she", _w("I2 novel"), 1.5),
    Publisher("中国青年出版社", "北京", (("5006", 1987), ("5153", 2009)),
              "Zhongguo qing nian chu ban she", _w("I2 D G novel"), 1.5, "009"),
    Publisher("中国发展出版社", "北京", (("80087", 1988), ("5177", 2012)),
              "Zhongguo fa zhan chu ban she", _w("F C8 D6"), 0.8),
    Publisher("中国统计出版社", "北京", (("5037", 1987), ("5230", 2019)),
              "Zhongguo tong ji chu ban she", _w("C8 F yearbook"), 0.8, "209"),
    Publisher("人民卫生出版社", "北京", (("117", 1987),), "Ren min wei sheng chu ban she",
              _w("R"), 3.0, "048"),
    Publisher("中国中医药出版社", "北京", (("80089", 1989), ("5132", 2005)),
              "Zhongguo zhong yi yao chu ban she", _w("R2"), 1.5),
    Publisher("中国农业出版社", "北京", (("109", 1987),), "Zhongguo nong ye chu ban she",
              _w("S F32"), 2.0, "144"),
    Publisher("中国建筑工业出版社", "北京", (("112", 1987),),
              "Zhongguo jian zhu gong ye chu ban she", _w("TU"), 2.0, "040"),
    Publisher("法律出版社", "北京", (("5036", 1987), ("5118", 2009), ("5197", 2015)),
              "Fa lü chu ban she", _w("D9"), 2.0, "004"),
    Publisher("外语教学与研究出版社", "北京", (("5600", 1987), ("5135", 2010), ("5213", 2019)),
              "Wai yu jiao xue yu yan jiu chu ban she", _w("H3 H0 english"), 2.0),
    Publisher("中国少年儿童出版社", "北京", (("5007", 1987), ("5148", 2008)),
              "Zhongguo shao nian er tong chu ban she", _w("children"), 1.5, "024"),
    Publisher("化学工业出版社", "北京", (("5025", 1987), ("122", 2007)),
              "Hua xue gong ye chu ban she", _w("TQ TS X O6 S"), 2.0, "063"),
    Publisher("中国环境出版社", "北京", (("80010", 1987), ("5111", 2007)),
              "Zhongguo huan jing chu ban she", _w("X"), 1.0),
    Publisher("解放军出版社", "北京", (("5065", 1987),), "Jie fang jun chu ban she",
              _w("E"), 1.5, "185"),
    Publisher("中国宇航出版社", "北京", (("80034", 1987), ("5159", 2009)),
              "Zhongguo yu hang chu ban she", _w("V"), 1.0),
    Publisher("人民交通出版社", "北京", (("114", 1987),), "Ren min jiao tong chu ban she",
              _w("U"), 1.5, "044"),
    Publisher("中国铁道出版社", "北京", (("113", 1987),), "Zhongguo tie dao chu ban she",
              _w("U2 TP"), 1.2, "043"),
    Publisher("文物出版社", "北京", (("5010", 1987),), "Wen wu chu ban she",
              _w("K87 K85 J2 J3"), 1.5, "068"),
    Publisher("人民美术出版社", "北京", (("102", 1987),), "Ren min mei shu chu ban she",
              _w("J2 J5 J4 children"), 1.5, "027"),
    Publisher("人民音乐出版社", "北京", (("103", 1987),), "Ren min yin yue chu ban she",
              _w("J6"), 1.0, "026"),
    Publisher("中国大百科全书出版社", "北京", (("5000", 1987), ("5202", 2016)),
              "Zhongguo da bai ke quan shu chu ban she", _w("Z N K"), 1.0, "213"),
    Publisher("国家图书馆出版社", "北京", (("5013", 1987),), "Guo jia tu shu guan chu ban she",
              _w("G25 Z K2"), 1.0, "201"),
    Publisher("中央文献出版社", "北京", (("5073", 1987),), "Zhong yang wen xian chu ban she",
              _w("A D2"), 1.0),
    Publisher("上海古籍出版社", "上海", (("5325", 1987),), "Shanghai gu ji chu ban she",
              _w("K2 I2 B2 classic"), 2.5, "186"),
    Publisher("上海译文出版社", "上海", (("5327", 1987),), "Shanghai yi wen chu ban she",
              _w("I3 I5 I7 foreign"), 2.5, "188"),
    Publisher("上海人民出版社", "上海", (("208", 1987),), "Shanghai ren min chu ban she",
              _w("A B C D F K"), 1.5, "074"),
    Publisher("少年儿童出版社", "上海", (("5324", 1987), ("5589", 2017)),
              "Shao nian er tong chu ban she", _w("children Z228"), 1.5, "024"),
    Publisher("译林出版社", "南京", (("80567", 1989), ("5447", 2004), ("5753", 2020)),
              "Yi lin chu ban she", _w("I3 I5 I7 foreign"), 2.0),
    Publisher("湖南文艺出版社", "长沙", (("5404", 1987), ("5726", 2017)),
              "Hunan wen yi chu ban she", _w("I2 novel"), 1.2),
    Publisher("岳麓书社", "长沙", (("80520", 1987), ("80761", 2003), ("5538", 2010)),
              "Yue lu shu she", _w("classic K2"), 1.0),
    Publisher("重庆出版社", "重庆", (("5366", 1987), ("229", 2007)), "Chongqing chu ban she",
              _w("I2 novel"), 1.0, "114"),
    Publisher("接力出版社", "南宁", (("80679", 1990), ("5448", 2004)), "Jie li chu ban she",
              _w("children"), 1.2),
    Publisher("二十一世纪出版社", "南昌", (("5391", 1987), ("5568", 2014)),
              "Er shi yi shi ji chu ban she", _w("children"), 1.0),
    # Shaanxi presses: weighted up, the consortium's own region.
    Publisher("陕西人民出版社", "西安", (("224", 1987),), "Shaanxi ren min chu ban she",
              _w("A D F K G local I2"), 3.0, "094"),
    Publisher("三秦出版社", "西安", (("80546", 1987), ("5518", 2009)), "San Qin chu ban she",
              _w("local K2 classic I2 J"), 2.5),
    Publisher("陕西师范大学出版社", "西安", (("5613", 1987), ("5695", 2013)),
              "Shaanxi shi fan da xue chu ban she", _w("G H I K B local textbook"), 2.5),
    Publisher("西北大学出版社", "西安", (("5604", 1987),), "Xi bei da xue chu ban she",
              _w("K F C I2 local textbook"), 2.0),
    Publisher("太白文艺出版社", "西安", (("80605", 1989), ("5513", 2006)),
              "Tai bai wen yi chu ban she", _w("I2 novel local"), 2.0),
    Publisher("陕西科学技术出版社", "西安", (("5369", 1987),),
              "Shaanxi ke xue ji shu chu ban she", _w("S R T N TS"), 1.5, "202"),
    Publisher("未来出版社", "西安", (("5417", 1987),), "Wei lai chu ban she",
              _w("children"), 1.5),
    Publisher("西安交通大学出版社", "西安", (("5605", 1987), ("5693", 2012)),
              "Xi'an jiao tong da xue chu ban she", _w("T O R F textbook"), 2.0),
    Publisher("西北工业大学出版社", "西安", (("5612", 1987),),
              "Xi bei gong ye da xue chu ban she", _w("V T O textbook"), 1.5),
    Publisher("陕西人民教育出版社", "西安", (("5419", 1987), ("5450", 2005)),
              "Shaanxi ren min jiao yu chu ban she", _w("G H children"), 1.2),
    Publisher("西安出版社", "西安", (("80712", 1993), ("5541", 2009)), "Xi'an chu ban she",
              _w("local K I2"), 1.2),
    Publisher("陕西旅游出版社", "西安", (("5418", 1987),), "Shaanxi lü you chu ban she",
              _w("local K9 F59"), 0.8),
)

#: City → (GB/T 2260 region code for 102$b, ALA-LC romanized form).
CITIES: dict[str, tuple[str, str]] = {
    "北京": ("110000", "Beijing"),
    "上海": ("310000", "Shanghai"),
    "南京": ("320000", "Nanjing"),
    "长沙": ("430000", "Changsha"),
    "重庆": ("500000", "Chongqing"),
    "南宁": ("450000", "Nanning"),
    "南昌": ("360000", "Nanchang"),
    "西安": ("610000", "Xi'an"),
}

# ------------------------------------------------------------------------------- people

#: Surname, its pinyin syllables, and the reading a machine picks for it (pypinyin's
#: default for a lone character) — a cataloguer who trusts the software writes the latter,
#: which is how real records end up with 曾 → "ceng" or 单 → "dan".
SURNAMES: tuple[tuple[str, ...], ...] = _rows(
        "王:wang:wang 李:li:li 张:zhang:zhang 刘:liu:liu 陈:chen:chen 杨:yang:yang "
        "赵:zhao:zhao 黄:huang:huang 周:zhou:zhou 吴:wu:wu 徐:xu:xu 孙:sun:sun 马:ma:ma "
        "朱:zhu:zhu 胡:hu:hu 郭:guo:guo 何:he:he 高:gao:gao 林:lin:lin 罗:luo:luo "
        "郑:zheng:zheng 梁:liang:liang 谢:xie:xie 宋:song:song 唐:tang:tang 许:xu:xu "
        "韩:han:han 冯:feng:feng 邓:deng:deng 曹:cao:cao 彭:peng:peng 曾:zeng:ceng "
        "肖:xiao:xiao 田:tian:tian 董:dong:dong 袁:yuan:yuan 潘:pan:pan 于:yu:yu "
        "蒋:jiang:jiang 蔡:cai:cai 余:yu:yu 杜:du:du 叶:ye:ye 程:cheng:cheng 苏:su:su "
        "魏:wei:wei 吕:lü:lv 丁:ding:ding 任:ren:ren 沈:shen:shen 姚:yao:yao 卢:lu:lu "
        "姜:jiang:jiang 崔:cui:cui 钟:zhong:zhong 谭:tan:tan 陆:lu:lu 汪:wang:wang "
        "范:fan:fan 金:jin:jin 石:shi:shi 廖:liao:liao 贾:jia:jia 夏:xia:xia 韦:wei:wei "
        "付:fu:fu 方:fang:fang 白:bai:bai 邹:zou:zou 孟:meng:meng 熊:xiong:xiong "
        "秦:qin:qin 邱:qiu:qiu 江:jiang:jiang 尹:yin:yin 薛:xue:xue 闫:yan:yan "
        "段:duan:duan 雷:lei:lei 侯:hou:hou 龙:long:long 史:shi:shi 黎:li:li 贺:he:he "
        "顾:gu:gu 毛:mao:mao 郝:hao:hao 龚:gong:gong 邵:shao:shao 万:wan:wan 钱:qian:qian "
        "严:yan:yan 武:wu:wu 康:kang:kang 乔:qiao:qiao 党:dang:dang 单:shan:dan "
        "柳:liu:liu 寇:kou:kou 呼:hu:hu 拓:tuo:tuo 欧阳:ouyang:ouyang 司马:sima:sima "
        "上官:shangguan:shangguan 诸葛:zhuge:zhuge"
)

#: Characters common in given names, chosen to have one usual reading.
GIVEN_CHARS: tuple[str, ...] = tuple(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国文辉玉红春晓海志鹏宇浩凯婷雪琳"
    "博俊峰斌林波丹云亮燕宁新立忠安永德福荣昌成思雨佳嘉欣怡瑞泽晨阳秋梅兰莉萍东振庆岩"
    "卫民利生宏兵彬毅鑫璐颖蕾倩玲薇晶慧智鸿飞翔健凤琴霖松柏耀"
)

#: Foreign names as Chinese catalogues transliterate them, each with the original
#: ("约翰=John"): nationality → (forenames, surnames).  A MARC 21 library enters the
#: author under the original form, a CNMARC one under the transliteration with (美).
FOREIGN_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "美": (_w("约翰=John 詹姆斯=James 玛丽=Mary 伊丽莎白=Elizabeth 威廉=William 乔治=George "
             "托马斯=Thomas 安娜=Anna 艾米丽=Emily 丹尼尔=Daniel 迈克尔=Michael 萨拉=Sarah"),
           _w("史密斯=Smith 布朗=Brown 米勒=Miller 戴维斯=Davis 威尔逊=Wilson 摩尔=Moore "
             "泰勒=Taylor 安德森=Anderson 克拉克=Clark 霍尔=Hall 格林=Green 贝克=Baker")),
    "英": (_w("查尔斯=Charles 爱德华=Edward 亨利=Henry 凯瑟琳=Catherine 露西=Lucy 彼得=Peter "
             "理查德=Richard 简=Jane 艾伦=Alan 哈里=Harry"),
           _w("伍德=Wood 沃克=Walker 罗伯茨=Roberts 埃文斯=Evans 休斯=Hughes 爱德华兹=Edwards "
             "柯林斯=Collins 斯图尔特=Stewart 莫里斯=Morris 贝尔=Bell")),
    "日": (_w("健一=Ken'ichi 和子=Kazuko 直美=Naomi 太郎=Tarō 美穗=Miho 裕子=Yūko 浩二=Kōji "
             "由纪=Yuki 信介=Shinsuke 惠子=Keiko"),
           _w("山田=Yamada 铃木=Suzuki 佐藤=Satō 田中=Tanaka 渡边=Watanabe 高桥=Takahashi "
             "中村=Nakamura 小林=Kobayashi 伊藤=Itō 松本=Matsumoto")),
    "法": (_w("让=Jean 皮埃尔=Pierre 玛丽=Marie 米歇尔=Michel 克洛德=Claude 安娜=Anne 路易=Louis "
             "苏菲=Sophie"),
           _w("勒布朗=Leblanc 杜邦=Dupont 贝尔纳=Bernard 马丁=Martin 莫罗=Moreau "
             "勒菲弗=Lefebvre 卢梭=Rousseau 加尼耶=Garnier")),
}
FOREIGN_CLC: dict[str, str] = {"美": "I712.45", "英": "I561.45", "日": "I313.45", "法": "I565.45"}
FOREIGN_COUNTRY: dict[str, str] = {"美": "美国", "英": "英国", "日": "日本", "法": "法国"}
FOREIGN_LANG: dict[str, str] = {"美": "eng", "英": "eng", "日": "jpn", "法": "fre"}

# ------------------------------------------------------------------------------- topics


class Topic(NamedTuple):
    """One CLC class with words that can make titles about it.

    `disciplines` take textbook patterns (…教程, …概论); `issues` take research or popular
    patterns (…研究 / …实用技术, depending on `register`).  `subject` is 606 $a, with
    $y place and $x topical subdivision when present.
    """

    clc: str
    subject: str
    disciplines: tuple[str, ...]
    issues: tuple[str, ...]
    place: str = ""
    register: str = "acad"  # acad | pop
    weight: float = 1.0


def T(clc: str, subject: str, disciplines: str = "", issues: str = "", place: str = "",
      register: str = "acad", weight: float = 1.0) -> Topic:
    return Topic(clc, subject, _w(disciplines), _w(issues), place, register, weight)


TOPICS: tuple[Topic, ...] = (
    # A 马克思主义、列宁主义、毛泽东思想、邓小平理论
    T("A81", "马克思主义", "马克思主义基本原理 马克思主义哲学",
      "马克思主义中国化 唯物史观 马克思主义经典著作"),
    T("A84", "毛泽东思想", "毛泽东思想", "毛泽东哲学思想 毛泽东思想形成史"),
    # B 哲学、宗教
    T("B2", "哲学", "中国哲学 中国哲学史", "中国古代哲学 中国传统哲学", place="中国"),
    T("B222", "儒家", "", "儒家思想 儒学 孔子思想"),
    T("B223", "道家", "", "道家思想 老庄哲学"),
    T("B244", "理学", "", "宋明理学 关学 张载思想", place="中国"),
    T("B5", "哲学", "西方哲学 西方哲学史", "现象学 德国古典哲学", place="西方国家"),
    T("B84", "心理学", "心理学 普通心理学 发展心理学 社会心理学 教育心理学",
      "心理健康 青少年心理 情绪管理", weight=1.5),
    T("B82", "伦理学", "伦理学", "道德建设 职业道德"),
    T("B81", "逻辑学", "逻辑学 形式逻辑", "批判性思维"),
    T("B94", "佛教", "", "佛教文化 禅宗 汉传佛教"),
    T("B83", "美学", "美学", "审美教育"),
    # C 社会科学总论
    T("C91", "社会学", "社会学", "社会转型 社会分层 乡村社会 社区治理"),
    T("C93", "管理学", "管理学 管理心理学", "组织行为 领导力 决策分析"),
    T("C8", "统计学", "统计学 社会统计学 应用统计学", "统计分析方法 抽样调查"),
    T("C924.2", "人口", "人口学", "人口老龄化 人口流动 人口发展", place="中国"),
    T("C95", "民族学", "民族学 文化人类学", "民族文化 田野调查"),
    # D 政治、法律
    T("D6", "政治", "中国政府与政治", "基层治理 政府职能转变", place="中国"),
    T("D26", "中国共产党", "", "党的建设 基层党建 党风廉政建设"),
    T("D63", "行政管理", "行政管理学 公共管理学 公共政策学", "公共服务 电子政务 应急管理",
      place="中国"),
    T("D90", "法学", "法理学 法学", "法治建设 依法治国"),
    T("D921", "宪法", "宪法学", "宪法实施"),
    T("D923", "民法", "民法学 合同法", "民法典 物权法 合同法实务", place="中国"),
    T("D924", "刑法", "刑法学", "刑事责任 犯罪构成", place="中国"),
    T("D925", "诉讼法", "刑事诉讼法学 民事诉讼法学", "司法改革", place="中国"),
    T("D922.5", "劳动法", "劳动法学", "劳动合同 劳动争议", place="中国"),
    T("D81", "国际关系", "国际关系学 国际政治学", "全球治理 大国关系 国际秩序"),
    T("D632.1", "社会保障", "社会保障学", "养老保险 社会救助 医疗保障", place="中国"),
    T("D64", "思想政治教育", "思想政治教育学", "大学生思想政治教育"),
    # E 军事
    T("E0", "军事理论", "军事学 军事理论", "现代战争 信息化战争 国防建设"),
    T("E29", "军事史", "中国军事史", "中国古代战争 中国古代兵制", place="中国"),
    T("E892", "兵法", "", "孙子兵法 古代兵法 兵家思想", place="中国"),
    T("E2", "国防教育", "国防教育 军事理论教程", "全民国防 大学生军事训练", place="中国"),
    # F 经济
    T("F124", "经济发展", "", "中国经济 经济发展 经济增长 高质量发展 经济结构调整", place="中国",
      weight=2.0),
    T("F121", "经济体制改革", "", "经济体制改革 供给侧结构性改革 国有企业改革", place="中国"),
    T("F123.16", "宏观调控", "", "宏观调控 宏观经济政策", place="中国"),
    T("F0", "经济学", "政治经济学 经济学 微观经济学 宏观经济学 发展经济学", "市场经济 经济思想",
      weight=1.5),
    T("F272", "企业管理", "企业管理 人力资源管理 战略管理 项目管理 生产运作管理",
      "企业文化 现代企业制度 企业创新", weight=1.5),
    T("F830", "金融学", "货币银行学 金融学 国际金融 投资学 证券投资学", ""),
    T("F832", "金融", "", "金融风险 金融改革 普惠金融 互联网金融", place="中国"),
    T("F812", "财政", "财政学 税收学", "财政体制 税制改革 地方财政", place="中国"),
    T("F23", "会计", "会计学 基础会计 财务管理 审计学 管理会计", "会计准则 内部控制", weight=1.5),
    T("F713.50", "市场营销学", "市场营销学 营销管理", "网络营销 品牌营销"),
    T("F32", "农业经济", "农业经济学", "乡村振兴 农村经济 农业现代化 三农问题", place="中国",
      weight=1.5),
    T("F590", "旅游业", "旅游学 旅游经济学 旅游管理", "旅游开发 文化旅游 乡村旅游"),
    T("F752", "对外贸易", "国际贸易 国际贸易实务", "对外贸易 一带一路 跨境电子商务", place="中国"),
    T("F426.21", "煤炭工业", "", "煤炭工业 能源化工产业 煤炭经济", place="中国"),
    # G 文化、科学、教育、体育
    T("G40", "教育", "教育学 教育学原理 比较教育学", "教育改革 素质教育 教育公平", weight=1.5),
    T("G64", "高等教育", "高等教育学", "高校管理 大学生就业 创新创业教育", place="中国"),
    T("G63", "中学教育", "", "中学语文教学 中学数学教学 班主任工作", weight=1.5),
    T("G61", "学前教育", "学前教育学", "幼儿园管理 幼儿游戏"),
    T("G25", "图书馆工作", "图书馆学 目录学 信息检索", "公共图书馆服务 数字图书馆 阅读推广"),
    T("G206", "传播学", "新闻学 传播学", "新媒体 融媒体 网络舆论"),
    T("G12", "文化", "", "中华优秀传统文化 传统节日 地域文化", place="中国"),
    T("G8", "体育", "体育学 运动训练学", "全民健身 学校体育"),
    T("G852.11", "太极拳", "", "太极拳 陈式太极拳", register="pop"),
    T("G841", "篮球运动", "", "篮球运动 篮球技术", register="pop"),
    # H 语言、文字
    T("H1", "汉语", "现代汉语 古代汉语 汉语语法 汉字学 汉语修辞学", "汉语规范化"),
    T("H17", "汉语方言", "", "汉语方言 西北方言"),
    T("H195", "对外汉语教学", "对外汉语教学", "汉语国际教育"),
    T("H31", "英语", "英语 大学英语 英语语法 英语写作 英语听力 英语口语", "英语教学", weight=2.0),
    T("H36", "日语", "日语 基础日语", ""),
    T("H0", "语言学", "语言学 应用语言学 社会语言学", ""),
    T("H152.3", "公文", "应用写作 公文写作", ""),
    # I 文学 (non-fiction about literature; fiction has its own generators)
    T("I209", "中国文学", "中国文学史 中国现当代文学史 中国古代文学史", "当代文学思潮 乡土文学",
      place="中国"),
    T("I207.42", "小说研究", "", "当代小说 陕西作家群 乡土小说", place="中国"),
    T("I0", "文学理论", "文学理论 文学概论 比较文学", ""),
    # J 艺术
    T("J212", "中国画", "", "中国画技法 山水画 花鸟画", register="pop"),
    T("J292.1", "书法", "书法", "书法艺术 楷书技法 行书技法", register="pop"),
    T("J6", "音乐", "乐理 视唱练耳 音乐欣赏", "民族音乐"),
    T("J642.2", "民歌", "", "陕北民歌 信天游 中国民歌", place="中国"),
    T("J825.41", "秦腔", "", "秦腔 秦腔艺术 陕西地方戏曲"),
    T("J528.1", "剪纸", "", "民间剪纸 陕北剪纸", place="中国", register="pop"),
    T("J90", "电影", "电影艺术 影视艺术 电影美学", "纪录片创作"),
    T("J41", "摄影艺术", "摄影", "数码摄影 摄影构图", register="pop"),
    T("J50", "设计", "设计艺术 平面设计 工艺美术", ""),
    # K 历史、地理
    T("K20", "中国历史", "中国通史 中国古代史 中国近代史 中国现代史", "中华文明 中国历史",
      weight=1.5),
    T("K232", "中国历史", "", "秦汉史 秦代历史 汉代社会", place="秦汉时代"),
    T("K242", "中国历史", "", "唐代历史 隋唐史 唐代长安", place="唐代"),
    T("K248", "中国历史", "", "明代历史 明史", place="明代"),
    T("K249", "中国历史", "", "清代历史 清史", place="清代"),
    T("K265", "抗日战争", "", "抗日战争 抗战史"),
    T("K82", "人物", "", "历史人物 名人传记", place="中国"),
    T("K87", "文物", "考古学 文物学", "文物保护 考古发现"),
    T("K92", "地理", "中国地理", "历史地理", place="中国"),
    T("K928.9", "旅游指南", "", "旅游地理 名胜古迹", place="中国", register="pop"),
    T("K1", "世界史", "世界史 世界通史 世界近代史", "丝绸之路 文明交流"),
    T("K892", "风俗习惯", "", "民间风俗 节日习俗", place="中国"),
    # N 自然科学总论
    T("N49", "自然科学", "", "科学知识 科学常识 身边的科学", register="pop"),
    T("N092", "自然科学史", "中国科学技术史", "古代科技", place="中国"),
    T("N03", "科学方法论", "科学方法论 系统科学", ""),
    # O 数理科学和化学
    T("O13", "高等数学", "高等数学 微积分", "", weight=1.5),
    T("O17", "数学分析", "数学分析", ""),
    T("O151.2", "线性代数", "线性代数 高等代数", ""),
    T("O21", "概率论", "概率论与数理统计 数理统计", ""),
    T("O4", "物理学", "大学物理 普通物理学 热学 光学 电磁学", "", weight=1.2),
    T("O6", "化学", "无机化学 有机化学 分析化学 物理化学", ""),
    T("O3", "力学", "理论力学 流体力学", ""),
    # P 天文学、地球科学
    T("P1", "天文学", "天文学 普通天文学", "宇宙探索 星空观测"),
    T("P5", "地质学", "地质学 普通地质学", "黄土地质 矿产资源"),
    T("P4", "气象学", "气象学 大气科学", "气候变化 天气预报"),
    T("P9", "自然地理", "自然地理学", "黄土高原地貌 秦岭生态"),
    T("P208", "地理信息系统", "地理信息系统 测量学", ""),
    # Q 生物科学
    T("Q1", "生物学", "普通生物学 生物学", "生命科学"),
    T("Q7", "分子生物学", "分子生物学 生物化学", "基因工程"),
    T("Q94", "植物", "植物学", "秦岭植物 药用植物"),
    T("Q95", "动物", "动物学", "大熊猫 朱鹮 野生动物保护"),
    T("Q14", "生态学", "生态学", "生物多样性 生态系统"),
    T("Q3", "遗传学", "遗传学", ""),
    T("Q93", "微生物学", "微生物学", ""),
    # R 医药、卫生
    T("R2", "中医学", "中医学 中医基础理论 中医诊断学 中药学 方剂学 针灸学",
      "中医养生 经方临床应用", weight=2.0),
    T("R4", "临床医学", "诊断学 临床医学概论", "常见病诊疗"),
    T("R5", "内科", "内科学", "高血压 糖尿病 心血管疾病", register="pop"),
    T("R6", "外科学", "外科学", ""),
    T("R47", "护理学", "护理学 基础护理学 内科护理学", "老年护理"),
    T("R1", "预防医学", "预防医学 营养学 流行病学", "健康教育 公共卫生"),
    T("R161", "保健", "", "家庭保健 健康生活方式 老年保健", register="pop", weight=1.5),
    T("R9", "药学", "药理学 药物化学 药剂学", ""),
    # S 农业科学
    T("S3", "农业", "农学 作物栽培学", "现代农业技术"),
    T("S512.1", "小麦", "", "小麦栽培 冬小麦", register="pop"),
    T("S661.1", "苹果", "", "苹果栽培 苹果园管理", register="pop", weight=1.5),
    T("S6", "园艺", "园艺学 蔬菜栽培学", "设施蔬菜 猕猴桃栽培", register="pop"),
    T("S8", "畜牧", "畜牧学 动物营养学", "生猪养殖 肉羊养殖 奶山羊", register="pop"),
    T("S7", "林业", "林学 森林培育学", "退耕还林 防护林建设"),
    T("S4", "植物保护", "植物保护学", "病虫害防治", register="pop"),
    # T 工业技术
    T("TP311.561", "软件工具", "Python程序设计 Python语言程序设计", "Python数据分析 Python网络爬虫",
      weight=2.0),
    T("TP312", "程序语言", "C语言程序设计 Java程序设计 C++程序设计", "", weight=1.5),
    T("TP393", "计算机网络", "计算机网络 网络安全", "网络安全技术 物联网技术", weight=1.5),
    T("TP18", "人工智能", "人工智能 机器学习 深度学习", "人工智能应用", weight=1.5),
    T("TP311.13", "数据库系统", "数据库原理 数据库系统", "大数据技术"),
    T("TP3", "电子计算机", "计算机基础 计算机应用基础 大学计算机", "计算机应用", weight=1.5),
    T("TP316", "操作系统", "操作系统", "Linux系统管理"),
    T("TP391", "信息处理", "", "图像处理 自然语言处理 信息检索技术"),
    T("TN", "电子技术", "电子技术 模拟电子技术 数字电子技术 通信原理", "移动通信 5G技术"),
    T("TM", "电工", "电工学 电机学 电力系统分析", "新能源发电 智能电网"),
    T("TU", "建筑", "建筑构造 土木工程概论 城市规划原理", "传统民居 窑洞民居 绿色建筑"),
    T("TH", "机械设计", "机械设计 机械原理 机械制图", ""),
    T("TS972.12", "菜谱", "", "家常菜 陕西小吃 面食制作", register="pop"),
    T("TD82", "煤矿开采", "煤矿开采学", "煤矿安全 矿井通风", place="中国"),
    T("TE3", "油气田开发", "石油工程", "油气田开发"),
    T("TQ", "化学工程", "化工原理 化学工程", "煤化工"),
    T("TV", "水利工程", "水力学 水利工程概论", "水资源管理"),
    T("TK", "能源", "", "太阳能利用 风能发电 新能源技术"),
    T("TB", "工程技术", "工程力学 工程制图", "新材料技术"),
    T("TG", "金属加工", "金属工艺学", ""),
    T("TS201.6", "食品安全", "食品工艺学 食品安全学", "食品安全"),
    # U 交通运输
    T("U41", "道路工程", "道路工程 桥梁工程 公路工程", "高速公路建设"),
    T("U2", "铁路运输", "铁道概论", "高速铁路"),
    T("U46", "汽车", "汽车构造 汽车理论", "汽车维修 新能源汽车", register="pop"),
    T("U491", "城市交通", "", "城市交通 智能交通"),
    # V 航空、航天
    T("V2", "航空", "航空概论 飞行原理", "飞机设计"),
    T("V4", "航天", "航天概论", "载人航天 航天技术 探月工程"),
    # X 环境科学、安全科学
    T("X", "环境科学", "环境科学概论 环境学", "生态文明建设"),
    T("X5", "环境污染", "", "大气污染防治 水污染治理 土壤污染"),
    T("X9", "安全管理", "安全工程 安全管理学", "安全生产 应急救援"),
    T("X3", "环境管理", "环境管理", "环境影响评价"),
    T("X705", "废物处理", "", "固体废物处理 垃圾分类", register="pop"),
    # Z 综合性图书
    T("Z228", "科学知识", "", "少儿百科 儿童科普", register="pop"),
    T("Z126", "国学", "", "国学经典 国学常识", register="pop"),
)

#: Title patterns.  `{t}` is the topic word; a pattern whose suffix the word already
#: carries (…原理 + 原理) falls back to the bare word.
DISCIPLINE_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{t}", 2), ("{t}教程", 4), ("{t}概论", 3), ("{t}基础", 2), ("{t}导论", 1.5),
    ("{t}原理", 1), ("{t}学习指导", 1), ("{t}实验教程", 0.7), ("{t}简明教程", 1),
    ("新编{t}", 1), ("{t}习题集", 0.6), ("{t}案例教程", 0.8), ("{t}实用教程", 0.8),
)
ISSUE_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{t}研究", 6), ("{t}问题研究", 2), ("{t}发展研究", 1.5), ("{t}理论与实践", 2),
    ("{t}论", 1), ("{t}新论", 1), ("{t}探索", 1), ("当代中国{t}", 1), ("{t}研究报告", 1),
    ("{t}十讲", 0.6), ("{t}史", 1.2), ("{t}论稿", 0.6), ("新时代{t}研究", 0.8),
    ("{t}前沿问题研究", 0.6), ("{t}的历史与现状", 0.6),
)
POPULAR_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{t}", 2), ("{t}实用技术", 3), ("{t}百问百答", 1.5), ("{t}入门", 2), ("图说{t}", 1.5),
    ("{t}技术手册", 1), ("{t}知识读本", 1), ("{t}指南", 1), ("{t}一本通", 1),
)
#: Textbook series by the years they were current (五年规划 names date a book).
TEXTBOOK_SERIES: tuple[tuple[int, int, str], ...] = (
    (1990, 2000, "高等学校教材"),
    (2001, 2010, "21世纪高等学校规划教材"),
    (2006, 2011, "普通高等教育“十一五”国家级规划教材"),
    (2011, 2016, "普通高等教育“十二五”规划教材"),
    (2016, 2021, "普通高等教育“十三五”规划教材"),
    (2021, 2024, "普通高等教育“十四五”规划教材"),
)
#: 200 $e other title information for scholarly titles.
SUBTITLES: tuple[str, ...] = (
    "以陕西为例", "理论、方法与实践", "基于陕西的实证分析", "历史与现实", "比较视野",
    "问题与对策", "以关中地区为例", "理论与案例", "国际经验与中国实践", "基于西部地区的考察",
)

# ---------------------------------------------------------------------- Shaanxi local

#: (place, ALA-LC form, county/city level).  The consortium is in Shaanxi; local
#: documents (地方文献) are what member libraries collect most deliberately.
PLACES: tuple[tuple[str, str, str], ...] = (
    ("陕西", "Shaanxi", "省"), ("西安", "Xi'an", "市"), ("咸阳", "Xianyang", "市"),
    ("宝鸡", "Baoji", "市"), ("延安", "Yan'an", "市"), ("榆林", "Yulin", "市"),
    ("神木", "Shenmu", "县"), ("汉中", "Hanzhong", "市"), ("安康", "Ankang", "市"),
    ("商洛", "Shangluo", "市"), ("渭南", "Weinan", "市"), ("铜川", "Tongchuan", "市"),
    ("关中", "Guanzhong", ""), ("陕北", "Shaanbei", ""), ("陕南", "Shaannan", ""),
    ("长安", "Chang'an", ""), ("秦岭", "Qinling", ""), ("三秦", "San Qin", ""),
)


class LocalTopic(NamedTuple):
    clc: str  # CLC with the 中国地区表 code for Shaanxi (41) already applied
    subject: str
    patterns: tuple[str, ...]  # {p} = place


#: Volumes (志) of the multi-volume 陕西省志, each catalogued as its own record.
PROVINCE_GAZETTEER_VOLUMES: tuple[str, ...] = _w(
    "农业志 教育志 文物志 人物志 水利志 交通志 民俗志 方言志 地理志 人口志 煤炭志 林业志")

LOCAL_TOPICS: tuple[LocalTopic, ...] = (
    LocalTopic("K294.1", "地方史",
               _w("{p}历史 {p}史话 {p}通史 {p}历史文化研究 {p}简史 {p}古代史稿")),
    LocalTopic("G127.41", "地方文化",
               _w("{p}文化概论 {p}地域文化研究 {p}文化遗产 {p}历史文化丛谈")),
    LocalTopic("K892.441", "风俗习惯", _w("{p}民俗 {p}民俗志 {p}民间习俗 {p}岁时节令")),
    LocalTopic("H172", "西北方言", _w("{p}方言研究 {p}方言词典 {p}方言志")),
    LocalTopic("K872.41", "文物", _w("{p}文物精华 {p}考古发现与研究 {p}出土文物 {p}古代碑刻")),
    LocalTopic("K928.941", "旅游指南", _w("{p}旅游指南 {p}名胜古迹 游{p} {p}古迹寻踪")),
    LocalTopic("F127.41", "地方经济", _w("{p}经济社会发展报告 {p}经济发展研究 {p}县域经济研究")),
    LocalTopic("K820.841", "人物", _w("{p}历史人物 {p}名人传 {p}英模谱")),
    LocalTopic("I218.41", "中国文学", _w("{p}作家作品选 {p}当代文学作品选 {p}散文选 {p}诗词选")),
    LocalTopic("J642.22", "民歌", _w("{p}民歌选 {p}民歌集成 {p}民间歌谣")),
    LocalTopic("D235.41", "中国共产党", _w("中国共产党{p}历史 {p}革命史 {p}党史资料")),
    LocalTopic("K294.1", "地方志", _w("{p}志")),
)

# --------------------------------------------------------------------------- fiction

NOVEL_NOUNS: tuple[str, ...] = _w(
    "黄土 河流 故乡 秋天 春天 村庄 岁月 麦田 月光 大地 山河 白杨 石榴 秦川 渭河 古城 钟楼 驼铃 "
    "风筝 灯火 雪原 长街 老屋 窑洞 黄河 草原 沙漠 雨季 夜色 黎明 少年 父亲 母亲 兄弟 青春 年代 "
    "家园 原野 峡谷 渡口 车站 小镇 胡同 城墙 山梁 塬上 北方 远方 星空 候鸟 槐花 烟火 铁路 矿山"
)
NOVEL_ADJ: tuple[str, ...] = _w(
    "遥远的 最后的 寂静的 燃烧的 沉默的 温暖的 远去的 流动的 "
    "蓝色的 白色的 永远的 消失的 我们的 我的"
)
NOVEL_PATTERNS: tuple[tuple[str, float], ...] = (
    ("{n}", 2), ("{a}{n}", 4), ("{n}{m}", 2), ("{n}往事", 1), ("{n}深处", 1), ("{n}纪事", 1),
    ("{n}人家", 0.7), ("走过{n}", 0.7), ("{n}上的{m}", 1), ("{n}与{m}", 1), ("西京{n}", 0.3),
)
CHILD_ANIMALS: tuple[str, ...] = _w(
    "熊 狐狸 兔子 狼 猫 小狗 老鼠 企鹅 大象 蚂蚁 蜗牛 刺猬 松鼠 海豚 青蛙")
CHILD_THINGS: tuple[str, ...] = _w(
    "秘密 花园 城堡 礼物 梦 星星 雨伞 房子 种子 森林 口袋 月亮 魔法书 气球")
CHILD_PATTERNS: tuple[tuple[str, float], ...] = (
    ("小{x}的{y}", 4), ("{x}和{z}", 2), ("会飞的{y}", 1), ("{y}里的{x}", 2), ("蓝色{x}", 0.5),
    ("{x}先生的{y}", 1), ("寻找{y}的{x}", 1),
)

# (subject 606 $a, CLC, $e wording) per fiction genre
FICTION_GENRES: dict[str, tuple[str, str, str]] = {
    "novel": ("长篇小说", "I247.5", "长篇小说"),
    "novel57": ("长篇小说", "I247.57", "长篇小说"),
    "stories": ("短篇小说", "I247.7", "中短篇小说集"),
    "essays": ("散文集", "I267", "散文集"),
    "poems": ("诗集", "I227", "诗集"),
}

# --------------------------------------------------------------- classics & canon

class Canon(NamedTuple):
    """A real work that many publishers reprint: every edition is a different ISBN."""

    title: str
    author: str  # "" when the work has no single author
    dynasty: str  # 200$f prefix "(清)" and 701$c
    role: str  # 撰 / 著 / 编
    clc: str
    subject: str  # 606 $a
    subj_y: str  # 606 $y
    subj_z: str  # 606 $z
    editors: tuple[str, ...]  # editorial roles that vary by edition (译注, 校注 …)
    variants: tuple[str, ...]  # title forms of editions ({t} = title)
    areas: str  # publisher areas
    weight: float = 1.0
    first: int = 0  # first published; no edition predates it


def C(title: str, author: str, dynasty: str, role: str, clc: str, subject: str,
      y: str = "中国", z: str = "", editors: str = "译注 校注 注释 评注", variants: str = "{t}",
      areas: str = "classic", weight: float = 1.0, first: int = 0) -> Canon:
    return Canon(title, author, dynasty, role, clc, subject, y, z, _w(editors), _w(variants),
                 areas, weight, first)


CLASSICS: tuple[Canon, ...] = (
    C("论语", "", "", "", "B222.2", "儒家", variants="{t} {t}译注 {t}全解 {t}今读", weight=2),
    C("孟子", "孟轲", "战国", "著", "B222.5", "儒家", variants="{t} {t}译注"),
    C("老子", "李耳", "春秋", "著", "B223.1", "道家", variants="{t} {t}注译 道德经"),
    C("庄子", "庄周", "战国", "著", "B223.5", "道家", variants="{t} {t}今注今译 {t}译注"),
    C("史记", "司马迁", "汉", "撰", "K204.2", "中国历史", z="古代", variants="{t} {t}选 {t}选注",
      weight=1.5),
    C("汉书", "班固", "汉", "撰", "K234.104", "中国历史", z="西汉时代", variants="{t} {t}选"),
    C("资治通鉴", "司马光", "宋", "编著", "K204.3", "中国历史", z="古代", variants="{t} {t}选"),
    C("诗经", "", "", "", "I222.2", "诗歌", z="古代", variants="{t} {t}译注 {t}选"),
    C("楚辞", "屈原", "战国", "著", "I222.3", "楚辞", variants="{t} {t}集注 {t}译注"),
    C("唐诗三百首", "蘅塘退士", "清", "编", "I222.742", "唐诗", editors="注评 注释 评注",
      variants="{t} {t}详析 新编{t}", weight=2),
    C("宋词三百首", "上彊村民", "清", "编", "I222.844", "宋词", editors="笺注 注评",
      variants="{t} {t}笺注"),
    C("三国演义", "罗贯中", "明", "著", "I242.43", "章回小说", z="明代", editors="校注 评点",
      areas="classic I2", weight=2),
    C("水浒传", "施耐庵", "明", "著", "I242.43", "章回小说", z="明代", editors="校注 评点",
      areas="classic I2", weight=1.5),
    C("西游记", "吴承恩", "明", "著", "I242.43", "章回小说", z="明代", editors="校注 评点",
      areas="classic I2 children", weight=2),
    C("聊斋志异", "蒲松龄", "清", "著", "I242.1", "笔记小说", z="清代", editors="评注 选译",
      variants="{t} {t}选"),
    C("儒林外史", "吴敬梓", "清", "著", "I242.47", "章回小说", z="清代", editors="校注"),
    C("孙子兵法", "孙武", "春秋", "著", "E892.25", "兵法", variants="{t} {t}新注 {t}译注"),
    C("黄帝内经", "", "", "", "R221", "内经", variants="{t} {t}素问 {t}灵枢", areas="R2 classic"),
    C("本草纲目", "李时珍", "明", "著", "R281.3", "本草", variants="{t} {t}精编",
      areas="R2 classic"),
    C("菜根谭", "洪应明", "明", "著", "B825", "人生哲学", variants="{t} {t}全鉴"),
    C("世说新语", "刘义庆", "南朝宋", "撰", "I242.1", "笔记小说", z="南朝时代",
      variants="{t} {t}译注"),
    C("文心雕龙", "刘勰", "南朝梁", "著", "I206.2", "文学理论", z="古代", variants="{t} {t}注"),
    C("长安志", "宋敏求", "宋", "撰", "K294.11", "地方志", y="西安", z="古代",
      editors="点校 校注", areas="local", weight=0.6),
    C("关中胜迹图志", "毕沅", "清", "撰", "K928.704.1", "名胜古迹", y="陕西", z="",
      editors="点校", areas="local", weight=0.4),
)

def M(title: str, author: str, clc: str, subject: str, z: str, first: int,
      areas: str = "I2 novel", weight: float = 1.0) -> Canon:
    """A modern work: one author (著), no editorial roles, never printed before `first`."""
    return C(title, author, "", "著", clc, subject, z=z, editors="", areas=areas,
             weight=weight, first=first)


#: Modern canon: real novels and essays by real authors, reprinted by several presses.
MODERN: tuple[Canon, ...] = (
    M("骆驼祥子", "老舍", "I246.5", "长篇小说", "现代", 1939, weight=2),
    M("边城", "沈从文", "I246.4", "中篇小说", "现代", 1934),
    M("家", "巴金", "I246.5", "长篇小说", "现代", 1933),
    M("子夜", "茅盾", "I246.5", "长篇小说", "现代", 1933),
    M("茶馆", "老舍", "I234", "话剧", "当代", 1958, areas="I2"),
    M("雷雨", "曹禺", "I234", "话剧", "现代", 1936, areas="I2"),
    M("城南旧事", "林海音", "I247.8", "小说集", "当代", 1980, areas="I2 children"),
    M("朝花夕拾", "鲁迅", "I210.4", "散文集", "现代", 1928, areas="I2 children", weight=1.5),
    M("许三观卖血记", "余华", "I247.57", "长篇小说", "当代", 1998, areas="novel"),
    M("长恨歌", "王安忆", "I247.57", "长篇小说", "当代", 1996, areas="novel"),
    M("尘埃落定", "阿来", "I247.57", "长篇小说", "当代", 1998, areas="novel"),
    M("废都", "贾平凹", "I247.57", "长篇小说", "当代", 1993, areas="novel local"),
    M("浮躁", "贾平凹", "I247.57", "长篇小说", "当代", 1987, areas="novel local"),
    M("蛙", "莫言", "I247.57", "长篇小说", "当代", 2009, areas="novel"),
    M("红高粱家族", "莫言", "I247.57", "长篇小说", "当代", 1987, areas="novel"),
    M("繁花", "金宇澄", "I247.57", "长篇小说", "当代", 2013, areas="novel"),
    M("额尔古纳河右岸", "迟子建", "I247.57", "长篇小说", "当代", 2005, areas="novel"),
    M("文化苦旅", "余秋雨", "I267", "散文集", "当代", 1992, areas="I2"),
    M("我与地坛", "史铁生", "I267", "散文集", "当代", 1991, areas="I2"),
    M("草房子", "曹文轩", "I287.45", "儿童小说", "当代", 1997, areas="children", weight=1.5),
    M("皮皮鲁传", "郑渊洁", "I287.7", "童话", "当代", 1990, areas="children"),
)

# ------------------------------------------------------------------------- famous books


class Famous(NamedTuple):
    """A book every demo build must contain, held by several libraries.

    `persons` is [(name, role, prefix)] — prefix is the dynasty for Chinese names, the
    dates for western ones ("Austen, Jane"); `volumes` lists (200$h, 200$i) per separately
    issued volume — each gets its own record and ISBN.  `isbn_no` is the publication
    number under the publisher's prefix, so the ISBN is stable across seeds.
    """

    title: str
    persons: tuple[tuple[str, str, str], ...]
    corporate: tuple[str, str]  # (name, role) or ("", "")
    publisher: str
    year: int
    edition: str
    clc: str
    subjects: tuple[tuple[tuple[str, str], ...], ...]
    price: str
    pages: int
    cm: int
    isbn_no: int  # 0 = no ISBN (pre-1987 book)
    volumes: tuple[tuple[str, str], ...] = (("", ""),)
    other: str = ""
    series: str = ""
    summary: str = ""
    volumes_in_record: int = 1
    lang: str = "chi"
    lcc: str = ""  # English books: LC class for MARC 21 050
    lcsh: tuple[str, ...] = ()  # English books: LC subject headings, "Topic--Place--Form"


def _s(*subfields: str) -> tuple[tuple[str, str], ...]:
    return tuple((s[0], s[1:]) for s in subfields)


_NOVEL_SUBJ = (_s("a长篇小说", "y中国", "z当代"),)

FAMOUS: tuple[Famous, ...] = (
    Famous("红楼梦", (("曹雪芹", "著", "清"), ("高鹗", "著", "清"),
                   ("中国艺术研究院红楼梦研究所", "校注", "")), ("", ""),
           "人民文学出版社", 2008, "第3版", "I242.47", (_s("a章回小说", "y中国", "z清代"),),
           "59.70", 1606, 23, 2207, series="中国古典文学读本丛书", volumes_in_record=2,
           summary="本书是中国古典长篇小说，以贾、史、王、薛四大家族的兴衰为背景，"
                   "以贾宝玉、林黛玉的爱情悲剧为主线。"),
    Famous("红楼梦", (("曹雪芹", "著", "清"), ("高鹗", "续", "清")), ("", ""),
           "人民文学出版社", 1982, "", "I242.47", (_s("a章回小说", "y中国", "z清代"),),
           "4.15", 1655, 21, 0, volumes_in_record=3),
    Famous("平凡的世界", (("路遥", "著", ""),), ("", ""), "北京十月文艺出版社", 2012, "",
           "I247.57", _NOVEL_SUBJ, "39.00", 440, 23, 1200,
           volumes=(("第一部", ""), ("第二部", ""), ("第三部", "")),
           summary="本书以中国70年代中期到80年代中期十年间为背景，以孙少安和孙少平两兄弟为中心，"
                   "刻画了当时社会各阶层众多普通人的形象。"),
    Famous("平凡的世界", (("路遥", "著", ""),), ("", ""), "人民文学出版社", 2005, "",
           "I247.57", _NOVEL_SUBJ, "64.00", 1268, 21, 4929, volumes_in_record=3,
           series="茅盾文学奖获奖作品全集"),
    Famous("白鹿原", (("陈忠实", "著", ""),), ("", ""), "人民文学出版社", 1993, "",
           "I247.57", _NOVEL_SUBJ, "18.00", 680, 20, 1777,
           summary="本书以陕西关中平原上素有“仁义村”之称的白鹿村为背景，"
                   "反映出白姓和鹿姓两大家族祖孙三代的恩怨纷争。"),
    Famous("白鹿原", (("陈忠实", "著", ""),), ("", ""), "人民文学出版社", 2012, "",
           "I247.57", _NOVEL_SUBJ, "39.00", 679, 23, 9001, series="茅盾文学奖获奖作品全集"),
    Famous("中国发展报告", (), ("中国发展研究基金会", "编"), "中国发展出版社", 2017, "",
           "F124", (_s("a经济发展", "j研究报告", "y中国"), _s("a社会发展", "j研究报告", "y中国")),
           "88.00", 236, 26, 6017, volumes=(("2017", ""),)),
    Famous("中国发展报告", (), ("中国发展研究基金会", "编"), "中国发展出版社", 2019, "",
           "F124", (_s("a经济发展", "j研究报告", "y中国"), _s("a社会发展", "j研究报告", "y中国")),
           "98.00", 252, 26, 8019, volumes=(("2019", ""),)),
    Famous("中国发展报告", (), ("中国发展研究基金会", "编"), "中国发展出版社", 2020, "",
           "F124", (_s("a人口老龄化", "x研究报告", "y中国"),),
           "128.00", 318, 26, 9020, volumes=(("2020", ""),),
           other="中国人口老龄化的发展趋势和政策"),
    Famous("围城", (("钱钟书", "著", ""),), ("", ""), "人民文学出版社", 1991, "第2版",
           "I246.5", (_s("a长篇小说", "y中国", "z现代"),), "10.80", 359, 21, 1229,
           summary="本书以方鸿渐的经历为主线，描写了抗战初期一批知识分子的生活。"),
    Famous("活着", (("余华", "著", ""),), ("", ""), "作家出版社", 2012, "", "I247.57",
           _NOVEL_SUBJ, "20.00", 191, 21, 6543, summary="本书讲述了农村人福贵悲惨的人生遭遇。"),
    Famous("三体", (("刘慈欣", "著", ""),), ("", ""), "重庆出版社", 2008, "", "I247.55",
           (_s("a科学幻想小说", "y中国", "z当代"),), "23.00", 302, 21, 6929,
           series="中国科幻基石丛书",
           summary="文化大革命如火如荼进行的同时，军方探寻外星文明的绝秘计划“红岸工程”"
                   "取得了突破性进展。"),
    Famous("三体", (("刘慈欣", "著", ""),), ("", ""), "重庆出版社", 2008, "", "I247.55",
           (_s("a科学幻想小说", "y中国", "z当代"),), "32.00", 470, 21, 6930,
           volumes=(("Ⅱ", "黑暗森林"),), series="中国科幻基石丛书"),
    Famous("三体", (("刘慈欣", "著", ""),), ("", ""), "重庆出版社", 2010, "", "I247.55",
           (_s("a科学幻想小说", "y中国", "z当代"),), "38.00", 513, 21, 7202,
           volumes=(("Ⅲ", "死神永生"),), series="中国科幻基石丛书"),
    Famous("秦腔", (("贾平凹", "著", ""),), ("", ""), "作家出版社", 2005, "", "I247.57",
           _NOVEL_SUBJ, "39.80", 565, 21, 3365),
    Famous("人生", (("路遥", "著", ""),), ("", ""), "中国青年出版社", 1982, "", "I247.5",
           (_s("a中篇小说", "y中国", "z当代"),), "0.56", 199, 19, 0),
    Famous("创业史", (("柳青", "著", ""),), ("", ""), "中国青年出版社", 1960, "", "I247.5",
           _NOVEL_SUBJ, "1.40", 578, 21, 0),
    Famous("长安的荔枝", (("马伯庸", "著", ""),), ("", ""), "湖南文艺出版社", 2022, "",
           "I247.5", (_s("a长篇小说", "y中国", "z当代"),), "45.00", 209, 21, 1580),
    Famous("论语译注", (("杨伯峻", "译注", ""),), ("", ""), "中华书局", 2006, "", "B222.2",
           (_s("a儒家", "x研究"), _s("a论语", "x译文")), "22.00", 328, 21, 5113),
    Famous("史记", (("司马迁", "撰", "汉"),), ("", ""), "中华书局", 1982, "第2版", "K204.2",
           (_s("a中国历史", "x纪传体", "z古代"),), "15.80", 3322, 21, 0, volumes_in_record=10),
    Famous("陕西通史", (("张岂之", "总主编", ""),), ("", ""), "陕西师范大学出版社", 1997, "",
           "K294.1", (_s("a地方史", "y陕西"),), "36.00", 420, 21, 521,
           volumes=(("", "秦汉卷"), ("", "隋唐卷"), ("", "明清卷"))),
    Famous("十万个为什么", (("韩启德", "总主编", ""),), ("", ""), "少年儿童出版社", 2013, "第6版",
           "Z228.1", (_s("a科学知识", "j儿童读物"),), "35.00", 280, 26, 5420,
           volumes=(("", "数学"), ("", "天文"))),
    Famous("中国统计年鉴", (), ("国家统计局", "编"), "中国统计出版社", 2020, "", "C832",
           (_s("a统计资料", "y中国", "z2019", "j年鉴"),), "398.00", 924, 29, 9230,
           volumes=(("2020", ""),)),
    Famous("Pride and prejudice", (("Austen, Jane", "著", "1775-1817"),), ("", ""),
           "Penguin Books", 2003, "", "I561.44", (_s("a长篇小说", "y英国", "z近代"),), "8.99",
           480, 20, 143951, lang="eng", series="Penguin classics", lcc="PR4034.P7",
           lcsh=("Courtship--Fiction", "Social classes--England--Fiction",
                 "Young women--England--Fiction")),
)

#: Alternative forms one library writes for a famous author (钱钟书 vs 钱锺书).
NAME_VARIANTS: dict[str, str] = {"钱钟书": "钱锺书", "高鹗": "高鹗"}

# ---------------------------------------------------------------------- English books


class EnPublisher(NamedTuple):
    name: str
    place: str
    prefixes: tuple[str, ...]  # hyphenated ISBN-13 prefix: EAN-group-registrant
    areas: str  # fiction | tech | both


EN_PUBLISHERS: tuple[EnPublisher, ...] = (
    EnPublisher("Penguin Books", "London", ("978-0-14",), "fiction"),
    EnPublisher("Oxford University Press", "Oxford", ("978-0-19",), "both"),
    EnPublisher("Vintage", "New York", ("978-0-679", "978-1-4000"), "fiction"),
    EnPublisher("Wordsworth Editions", "Ware", ("978-1-85326",), "fiction"),
    EnPublisher("Bantam Books", "New York", ("978-0-553",), "fiction"),
    EnPublisher("O'Reilly Media", "Sebastopol, CA", ("978-1-4919", "978-1-0981"), "tech"),
    EnPublisher("Addison-Wesley", "Boston", ("978-0-321", "978-0-13"), "tech"),
    EnPublisher("MIT Press", "Cambridge, MA", ("978-0-262",), "tech"),
    EnPublisher("Springer", "Cham", ("978-3-030", "978-3-031"), "tech"),
    EnPublisher("Cambridge University Press", "Cambridge", ("978-1-108", "978-0-521"), "both"),
    EnPublisher("Manning", "Shelter Island, NY", ("978-1-61729", "978-1-63343"), "tech"),
    EnPublisher("No Starch Press", "San Francisco", ("978-1-59327", "978-1-7185"), "tech"),
    EnPublisher("Wiley", "Hoboken, NJ", ("978-1-119",), "tech"),
    EnPublisher("外语教学与研究出版社", "北京", ("978-7-5600", "978-7-5135"), "fiction"),
)


#: English imprints of Chinese presses that publish English-language books.
EN_IMPRINTS: dict[str, str] = {
    "外语教学与研究出版社": "Foreign Language Teaching and Research Press",
}


class EnClassic(NamedTuple):
    title: str
    surname: str
    forename: str
    dates: str
    lcc: str
    clc: str
    lcsh: tuple[str, ...]  # "Topic--Place--Form" strings
    cn_subject: tuple[str, str, str]  # 606 $a $y $z for CNMARC libraries


def E(title: str, surname: str, forename: str, dates: str, lcc: str, clc: str,
      lcsh: str, cn: str) -> EnClassic:
    a, y, z = cn.split("/")
    return EnClassic(title, surname, forename, dates, lcc, clc, tuple(lcsh.split(";")), (a, y, z))


EN_CLASSICS: tuple[EnClassic, ...] = (
    E("Jane Eyre", "Brontë", "Charlotte", "1816-1855", "PR4167", "I561.44",
      "Governesses--Fiction;Orphans--Fiction", "长篇小说/英国/近代"),
    E("Wuthering Heights", "Brontë", "Emily", "1818-1848", "PR4172", "I561.44",
      "Yorkshire (England)--Fiction;Revenge--Fiction", "长篇小说/英国/近代"),
    E("Great expectations", "Dickens", "Charles", "1812-1870", "PR4560", "I561.44",
      "Orphans--Fiction;London (England)--Fiction", "长篇小说/英国/近代"),
    E("Oliver Twist", "Dickens", "Charles", "1812-1870", "PR4567", "I561.44",
      "Orphans--Fiction;London (England)--Fiction", "长篇小说/英国/近代"),
    E("A tale of two cities", "Dickens", "Charles", "1812-1870", "PR4571", "I561.44",
      "France--History--Revolution, 1789-1799--Fiction", "长篇小说/英国/近代"),
    E("Sense and sensibility", "Austen", "Jane", "1775-1817", "PR4034.S4", "I561.44",
      "Sisters--England--Fiction", "长篇小说/英国/近代"),
    E("Emma", "Austen", "Jane", "1775-1817", "PR4034.E5", "I561.44",
      "Young women--England--Fiction", "长篇小说/英国/近代"),
    E("Moby-Dick", "Melville", "Herman", "1819-1891", "PS2384.M6", "I712.44",
      "Whaling--Fiction;Sea stories", "长篇小说/美国/近代"),
    E("The adventures of Tom Sawyer", "Twain", "Mark", "1835-1910", "PS1306", "I712.44",
      "Mississippi River--Fiction;Boys--Fiction", "长篇小说/美国/近代"),
    E("Adventures of Huckleberry Finn", "Twain", "Mark", "1835-1910", "PS1305", "I712.44",
      "Mississippi River--Fiction;Runaway children--Fiction", "长篇小说/美国/近代"),
    E("The great Gatsby", "Fitzgerald", "F. Scott", "1896-1940", "PS3511.I9", "I712.45",
      "Long Island (N.Y.)--Fiction;Rich people--Fiction", "长篇小说/美国/现代"),
    E("Nineteen eighty-four", "Orwell", "George", "1903-1950", "PR6029.R8", "I561.45",
      "Totalitarianism--Fiction;Dystopias", "长篇小说/英国/现代"),
    E("Animal farm", "Orwell", "George", "1903-1950", "PR6029.R8", "I561.45",
      "Domestic animals--Fiction;Allegories", "中篇小说/英国/现代"),
    E("The old man and the sea", "Hemingway", "Ernest", "1899-1961", "PS3515.E37", "I712.45",
      "Fishers--Fiction;Cuba--Fiction", "中篇小说/美国/现代"),
    E("Frankenstein", "Shelley", "Mary Wollstonecraft", "1797-1851", "PR5397.F7", "I561.44",
      "Frankenstein's monster (Fictitious character)--Fiction;Horror fiction",
      "长篇小说/英国/近代"),
    E("Dracula", "Stoker", "Bram", "1847-1912", "PR6037.T617", "I561.44",
      "Dracula, Count (Fictitious character)--Fiction;Vampires--Fiction", "长篇小说/英国/近代"),
    E("The picture of Dorian Gray", "Wilde", "Oscar", "1854-1900", "PR5819", "I561.44",
      "Portraits--Fiction;Self-destructive behavior--Fiction", "长篇小说/英国/近代"),
    E("Hamlet", "Shakespeare", "William", "1564-1616", "PR2807", "I561.33",
      "Princes--Denmark--Drama", "悲剧/英国/中世纪"),
    E("Romeo and Juliet", "Shakespeare", "William", "1564-1616", "PR2831", "I561.33",
      "Verona (Italy)--Drama;Youth--Drama", "悲剧/英国/中世纪"),
    E("Walden", "Thoreau", "Henry David", "1817-1862", "PS3048", "I712.64",
      "Natural history--Massachusetts;Solitude", "散文集/美国/近代"),
    E("Little women", "Alcott", "Louisa May", "1832-1888", "PS1017", "I712.44",
      "Sisters--Fiction;Families--New England--Fiction", "长篇小说/美国/近代"),
    E("Robinson Crusoe", "Defoe", "Daniel", "1661?-1731", "PR3403", "I561.44",
      "Castaways--Fiction;Survival--Fiction", "长篇小说/英国/近代"),
    E("Gulliver's travels", "Swift", "Jonathan", "1667-1745", "PR3724.G7", "I561.44",
      "Voyages, Imaginary--Fiction;Satire", "长篇小说/英国/近代"),
    E("Tess of the d'Urbervilles", "Hardy", "Thomas", "1840-1928", "PR4748", "I561.44",
      "Young women--England--Fiction;Wessex (England)--Fiction", "长篇小说/英国/近代"),
    E("The call of the wild", "London", "Jack", "1876-1916", "PS3523.O46", "I712.45",
      "Sled dogs--Fiction;Klondike River Valley (Yukon)--Fiction", "中篇小说/美国/现代"),
)

#: Computing books: (field, LCC class, CLC, LCSH heading, CNMARC 606).
EN_FIELDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Machine Learning", "Q325.5", "TP181", "Machine learning", "机器学习"),
    ("Deep Learning", "Q325.73", "TP181", "Machine learning", "机器学习"),
    ("Algorithms", "QA76.9.A43", "TP301.6", "Computer algorithms", "算法理论"),
    ("Computer Networks", "TK5105.5", "TP393", "Computer networks", "计算机网络"),
    ("Operating Systems", "QA76.76.O63", "TP316", "Operating systems (Computers)", "操作系统"),
    ("Database Systems", "QA76.9.D3", "TP311.13", "Database management", "数据库系统"),
    ("Distributed Systems", "QA76.9.D5", "TP338.8",
     "Electronic data processing--Distributed processing", "分布式处理系统"),
    ("Natural Language Processing", "QA76.9.N38", "TP391.1",
     "Natural language processing (Computer science)", "自然语言处理"),
    ("Software Engineering", "QA76.758", "TP311.5", "Software engineering", "软件工程"),
    ("Data Science", "QA76.9.D343", "TP274", "Data mining", "数据处理"),
    ("Information Retrieval", "ZA3075", "G354", "Information retrieval", "情报检索"),
)
#: (language, LCC, CLC, LCSH, CNMARC 606)
EN_TECHS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Python", "QA76.73.P98", "TP311.561", "Python (Computer program language)", "软件工具"),
    ("Java", "QA76.73.J38", "TP312.8", "Java (Computer program language)", "JAVA语言"),
    ("C++", "QA76.73.C153", "TP312.8", "C++ (Computer program language)", "C++语言"),
    ("JavaScript", "QA76.73.J39", "TP312.8", "JavaScript (Computer program language)", "JAVA语言"),
    ("SQL", "QA76.73.S67", "TP311.132.3", "SQL (Computer program language)", "关系数据库系统"),
    ("Rust", "QA76.73.R87", "TP312", "Rust (Computer program language)", "程序语言"),
    ("Go", "QA76.73.G63", "TP312", "Go (Computer program language)", "程序语言"),
    ("Linux", "QA76.76.O63", "TP316.85", "Linux", "Linux操作系统"),
)
EN_FIELD_PATTERNS: tuple[str, ...] = (
    "Introduction to {f}", "{f}: Principles and Practice", "Foundations of {f}",
    "Practical {f}", "{f} in Practice", "Understanding {f}", "Modern {f}",
)
EN_TECH_PATTERNS: tuple[str, ...] = (
    "Learning {t}", "Programming {t}", "{t} Cookbook", "{t} in Action", "Effective {t}",
    "Hands-On {f} with {t}", "{t} for Everyone", "Mastering {t}",
)
EN_FORENAMES: tuple[str, ...] = _w(
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Susan "
    "Richard Sarah Thomas Karen Daniel Nancy Matthew Laura Andrew Emily Mark Anna Paul Rachel "
    "Steven Julia Kevin Helen Wei Priya Hiroshi José"
)
EN_SURNAMES: tuple[str, ...] = _w(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
    "Martin Jackson Thompson White Harris Clark Lewis Walker Hall Allen Young King Wright "
    "Scott Green Baker Adams Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker "
    "Evans Edwards Collins Chen Wang Kumar Singh Nguyen Kim Patel Müller Fernández Novák"
)

# --------------------------------------------------------------------- library holdings

#: Shelving locations by what the book is, per holdings style.  Each row is (location,
#: weight); a provincial library splits 社科 / 科技 reading rooms ("soc" for CLC A–K and
#: literature, "sci" for N–X) and keeps one copy of Chinese books in its 保存本库.
LOCATIONS: dict[str, dict[str, tuple[tuple[str, float], ...]]] = {
    "provincial": {
        "general": (("中文图书借阅室", 5), ("书库", 2)),
        "soc": (("中文社科图书借阅室", 5), ("中文图书借阅室", 2), ("书库", 2)),
        "sci": (("中文科技图书借阅室", 5), ("中文图书借阅室", 1), ("书库", 2)),
        "local": (("地方文献阅览室", 6), ("书库", 1)),
        "children": (("少儿借阅室", 1),),
        "english": (("外文图书借阅室", 1),),
        "old": (("书库", 3), ("保存本库", 1)),
        "reserve": (("保存本库", 1),),
    },
    "city": {
        "general": (("成人借阅部", 6), ("书库", 2), ("自习阅览室", 1)),
        "local": (("地方文献阅览室", 3), ("书库", 1)),
        "children": (("少儿借阅室", 1),),
        "english": (("外文阅览室", 1),),
        "old": (("书库", 1),),
        "reserve": (("书库", 1),),
    },
    "county": {
        "general": (("中文图书借阅区", 5), ("综合书库", 1)),
        "local": (("地方文献专架", 1),),
        "children": (("少儿阅览区", 1),),
        "english": (("外文图书区", 1),),
        "old": (("综合书库", 1),),
        "reserve": (("综合书库", 1),),
    },
}
ITEM_STATUS: tuple[tuple[str, float], ...] = (("在架", 8), ("借出", 2), ("修补", 0.1),
                                              ("遗失", 0.05))

#: Pinyin romanization of the role words that end a statement of responsibility.
ROLE_PINYIN: dict[str, str] = {
    "著": "zhu", "编": "bian", "主编": "zhu bian", "编著": "bian zhu", "译": "yi",
    "译注": "yi zhu", "校注": "jiao zhu", "撰": "zhuan", "注释": "zhu shi", "评注": "ping zhu",
    "注评": "zhu ping", "笺注": "jian zhu", "评点": "ping dian", "选译": "xuan yi",
    "注译": "zhu yi", "集注": "ji zhu", "点校": "dian jiao", "总主编": "zong zhu bian",
    "续": "xu", "绘": "hui", "文": "wen", "图": "tu", "选编": "xuan bian",
    "今注今译": "jin zhu jin yi", "新注": "xin zhu",
}
#: MARC 21 relator terms ($e) for the Chinese role words.
ROLE_RELATOR: dict[str, str] = {
    "著": "author", "撰": "author", "续": "author", "文": "author", "编": "editor",
    "主编": "editor", "总主编": "editor", "编著": "author", "选编": "editor", "译": "translator",
    "绘": "illustrator", "图": "illustrator",
}

#: Proper nouns that ALA-LC romanization joins and capitalizes; other words are written
#: syllable by syllable ("Zhongguo jing ji fa zhan yan jiu").
PROPER_NOUNS: dict[str, str] = {
    "中国": "Zhongguo", "中华": "Zhonghua", "北京": "Beijing", "上海": "Shanghai",
    "西安": "Xi'an", "长安": "Chang'an", "延安": "Yan'an", "陕西": "Shaanxi",
    "陕北": "Shaanbei", "陕南": "Shaannan", "关中": "Guanzhong", "秦岭": "Qinling",
    "咸阳": "Xianyang", "宝鸡": "Baoji", "榆林": "Yulin", "神木": "Shenmu",
    "汉中": "Hanzhong", "安康": "Ankang", "商洛": "Shangluo", "渭南": "Weinan",
    "铜川": "Tongchuan", "黄河": "Huang He", "渭河": "Wei He", "秦川": "Qinchuan",
    "西京": "Xijing", "三秦": "San Qin", "孔子": "Kongzi", "孙子": "Sunzi", "老子": "Laozi",
    "庄子": "Zhuangzi", "孟子": "Mengzi", "红楼梦": "Hong lou meng", "西北": "Xibei",
    "Python": "Python", "Java": "Java", "Linux": "Linux",
}
