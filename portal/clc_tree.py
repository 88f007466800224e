"""The 中图法 (CLC) hierarchy the class facet is browsed by: labels, parent, level.

The facet counts classes at three levels, cut from every class number an entry has
(I242.47 → I, I2, I24; TP312 → T, TP, TP3; `index.text.class_path`), so a reader can go
from 文学 to 中国文学 to 小说.  Labels are data: in Chinese, the 中图法 table to three
levels (`harvest.clc`, harvest/data/clc_levels.tsv); in another language, the 22 classes
and the main subclasses below, translated in the catalogues (`portal.catalogues`).  A
class without a label is shown by its number, which is what a librarian reads anyway.
The digit-by-digit cut is the notation's own: a subclass's number extends its parent's
(I24 小说 under I2 中国文学).
"""

from __future__ import annotations

import re

from harvest.clc import TOP_CLASSES, caption
from portal.i18n import _, in_source_language

LEVELS = 3  # I → I2 → I24: deeper classes (I242) are reached by searching the number
_FACET_CLASS = re.compile(r"^[A-Z][A-Z]?[0-9]{0,2}$")

#: The main subclasses, translated for pages in another language (their Chinese captions
#: as the table gives them, 5th edition; I20 where the table names none).
SUBCLASSES: dict[str, str] = {
    "A1": "马克思、恩格斯著作", "A2": "列宁著作", "A3": "斯大林著作", "A4": "毛泽东著作",
    "A49": "邓小平著作", "A7": "生平和传记", "A8": "学习和研究",
    "B0": "哲学理论", "B1": "世界哲学", "B2": "中国哲学", "B3": "亚洲哲学", "B5": "欧洲哲学",
    "B7": "美洲哲学", "B81": "逻辑学", "B82": "伦理学", "B83": "美学", "B84": "心理学",
    "B9": "宗教",
    "C8": "统计学", "C91": "社会学", "C92": "人口学", "C93": "管理学",
    "C95": "民族学、文化人类学",
    "D0": "政治学、政治理论", "D2": "中国共产党", "D5": "世界政治", "D6": "中国政治",
    "D8": "外交、国际关系", "D9": "法律", "D92": "中国法律",
    "E0": "军事理论", "E1": "世界军事", "E2": "中国军事", "E8": "战略学、战役学、战术学",
    "E9": "军事技术",
    "F0": "经济学", "F1": "世界各国经济概况、经济史、经济地理", "F12": "中国经济",
    "F2": "经济管理", "F3": "农业经济", "F4": "工业经济", "F5": "交通运输经济",
    "F59": "旅游经济", "F6": "邮电通信经济", "F7": "贸易经济", "F8": "财政、金融",
    "G0": "文化理论", "G1": "世界各国文化与文化事业", "G2": "信息与知识传播",
    "G25": "图书馆学、图书馆事业", "G3": "科学、科学研究", "G4": "教育", "G6": "各级教育",
    "G8": "体育",
    "H0": "语言学", "H1": "汉语", "H2": "中国少数民族语言", "H3": "常用外国语",
    "H31": "英语",
    "I0": "文学理论", "I1": "世界文学", "I2": "中国文学", "I20": "文学评论和研究",
    "I21": "作品集", "I22": "诗歌、韵文", "I23": "戏剧文学", "I24": "小说",
    "I25": "报告文学", "I26": "散文", "I27": "民间文学", "I28": "儿童文学",
    "I29": "少数民族文学",
    "J0": "艺术理论", "J1": "世界各国艺术概况", "J2": "绘画", "J29": "书法、篆刻",
    "J3": "雕塑", "J4": "摄影艺术", "J5": "工艺美术", "J6": "音乐", "J7": "舞蹈",
    "J8": "戏剧、曲艺、杂技艺术", "J9": "电影、电视艺术",
    "K0": "史学理论", "K1": "世界史", "K2": "中国史", "K29": "地方史志", "K3": "亚洲史",
    "K4": "非洲史", "K5": "欧洲史", "K6": "大洋洲史", "K7": "美洲史", "K81": "传记",
    "K82": "中国人物传记", "K85": "文物考古", "K89": "风俗习惯", "K9": "地理",
    "K92": "中国地理",
    "O1": "数学", "O3": "力学", "O4": "物理学", "O6": "化学", "O7": "晶体学",
    "P1": "天文学", "P2": "测绘学", "P3": "地球物理学", "P4": "大气科学（气象学）",
    "P5": "地质学", "P7": "海洋学", "P9": "自然地理学",
    "Q1": "普通生物学", "Q2": "细胞生物学", "Q3": "遗传学", "Q4": "生理学",
    "Q5": "生物化学", "Q7": "分子生物学", "Q93": "微生物学", "Q94": "植物学",
    "Q95": "动物学",
    "R1": "预防医学、卫生学", "R2": "中国医学", "R3": "基础医学", "R4": "临床医学",
    "R5": "内科学", "R6": "外科学", "R71": "妇产科学", "R72": "儿科学", "R73": "肿瘤学",
    "R9": "药学",
    "S1": "农业基础科学", "S2": "农业工程", "S3": "农学（农艺学）", "S4": "植物保护",
    "S5": "农作物", "S6": "园艺", "S7": "林业", "S8": "畜牧、动物医学、狩猎、蚕、蜂",
    "S9": "水产、渔业",
    "TB": "一般工业技术", "TD": "矿业工程", "TE": "石油、天然气工业", "TF": "冶金工业",
    "TG": "金属学与金属工艺", "TH": "机械、仪表工业", "TJ": "武器工业",
    "TK": "能源与动力工程", "TL": "原子能技术", "TM": "电工技术",
    "TN": "电子技术、通信技术", "TP": "自动化技术、计算机技术", "TQ": "化学工业",
    "TS": "轻工业、手工业、生活服务业", "TU": "建筑科学", "TV": "水利工程",
    "U1": "综合运输", "U2": "铁路运输", "U4": "公路运输", "U6": "水路运输", "U8": "航空运输",
    "V2": "航空", "V4": "航天（宇宙航行）",
    "X1": "环境科学基础理论", "X3": "环境保护管理", "X4": "灾害及其防治",
    "X5": "环境污染及其防治", "X9": "安全科学",
    "Z1": "丛书", "Z2": "百科全书、类书", "Z3": "辞典", "Z5": "年鉴、年刊",
    "Z8": "图书报刊目录、文摘、索引",
}  # fmt: skip


def is_facet_class(code: str) -> bool:
    """A value the class facet can hold: a class of its `LEVELS` levels (I, I2, I24; T, TP,
    TP3) under one of the 22 classes."""
    return (bool(_FACET_CLASS.match(code)) and code[0] in TOP_CLASSES
            and len(code) <= LEVELS)


def parent(code: str) -> str:
    """The class one level up ('' for a top class): I24 → I2, TP → T, TP3 → TP."""
    return code[:-1]


def label(code: str) -> str:
    """'I24 小说' (in the reader's language); a class without a label: its number.  In
    Chinese every class of the table is named; in English those translated here."""
    if len(code) == 1:
        name = TOP_CLASSES.get(code, "")
    elif in_source_language():
        name = caption(code) or SUBCLASSES.get(code, "")
    else:
        name = SUBCLASSES.get(code, "")
    return f"{code} {_(name)}" if name else code


def path(code: str) -> list[str]:
    """The classes from the top down to `code`: I24 → [I, I2, I24]."""
    return [code[:n] for n in range(1, len(code) + 1)]
