"""The cataloguing quality rules (审校规则) as data: code, severity, formats, a plain Chinese
explanation and the fix.

One row per rule, in the order of the pages and the CSV.  The checks live in
`harvest.quality` (record-level, from the stored record) and `harvest.quality_marc`
(field-level, from the raw MARC); each reports under a code from this table, and the
monthly summary rates each per 1,000 records per member.  Severity: 严重 (the record is
wrong or unfindable), 一般 (incomplete or inconsistent), 提示 (worth a look).  Formats:
which flavour a rule applies to ("" = any).
"""

from __future__ import annotations

from dataclasses import dataclass

SERIOUS, NORMAL, HINT = "严重", "一般", "提示"
SEVERITIES = (SERIOUS, NORMAL, HINT)
ISBN_SINCE = 1987  # books got ISBNs in China from 1987 (统一书号 before)


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    explain: str
    severity: str = NORMAL
    fix: str = ""
    formats: tuple[str, ...] = ()  # cnmarc, marc21; () = every format


KINDS: tuple[Kind, ...] = (
    Kind("no_isbn", "无 ISBN",
         f"{ISBN_SINCE} 年及以后出版（或出版年不详）的图书，没有任何 ISBN"
         "（CNMARC 010$a、MARC 21 020$a）",
         NORMAL, "按书上版权页补录 ISBN；确实无号的内部资料可在附注中说明"),
    Kind("isbn_invalid", "ISBN 校验位错误",
         "著录了 ISBN，但校验位不对（多为录入错误），合并与查重都会漏掉它",
         SERIOUS, "对照版权页改正 ISBN；书上印错的号录入 010$z（MARC 21 020$z）"),
    Kind("no_clc", "无中图分类号", "没有中国图书馆分类法分类号（CNMARC 690$a、MARC 21 084$a），"
         "分类浏览中找不到", SERIOUS, "按《中图法》第五版给出分类号，填入 690$a 并在 $v 注明版次"),
    Kind("encoding", "编码损坏",
         "含替换字符 �、“锟斤拷”，或 UTF-8 被错当作 GBK / Latin-1 读出的乱码",
         SERIOUS, "在编目系统中按原书重新录入受损字段；检查导出或转换时选用的字符集"),
    Kind("duplicate_isbn", "馆内重复（ISBN）",
         "同一馆同一书目库内另有一条记录的 ISBN（及分卷）相同；每组只计第二条起。"
         "同一馆不同数据源（如自建库与联合编目系统）之间的重合不算，由合并处理",
         NORMAL, "把重复记录的馆藏挂到保留的一条上，删除多余的书目记录"),
    Kind("duplicate_title", "馆内重复（题名）",
         "无 ISBN，但同一馆同一书目库内另有一条记录的题名、第一著者、出版年（及分卷）都相同",
         NORMAL, "核对是否同一版本；是则合并馆藏、删除多余记录，不是则补充区分信息（版本、分卷）"),
    Kind("no_call_number", "馆藏无索书号",
         "至少一条馆藏没有索书号，读者无法据此找书；按馆藏所属馆统计",
         SERIOUS, "按本馆索书号规则（分类号/种次号）补录"),
    Kind("isbn_reused", "一号多书（ISBN 用于不同书）",
         "本馆记录的 ISBN 也著录在（任一馆的）另一条记录上，而两条的题名与著者均不同，"
         "合并时按不同的书分开；多为 ISBN 抄错或出版社一号多用，请核对书上的 ISBN。"
         "分卷共用的套书号、不同版次不算；馆员已人工合并的不算",
         HINT, "核对书上的 ISBN；抄错的改正，出版社一号多用的在附注中说明"),
    # -- required fields and subfields (必备字段) --------------------------------------
    Kind("field_200a", "缺正题名（200$a）", "CNMARC 200 字段没有 $a 正题名，记录无法按题名检索",
         SERIOUS, "按题名页著录 200$a", ("cnmarc",)),
    Kind("field_101", "缺作品语种（101）", "没有 101 字段，语种分面与外文书统计都会漏掉它",
         NORMAL, "补录 101，如 101 0#$achi；译著用指示符 1 并在 $c 给出原作语种", ("cnmarc",)),
    Kind("field_102", "缺出版国别（102）", "没有 102 字段（出版国别及地区代码）",
         NORMAL, "补录 102，如 102 ##$aCN$b610000", ("cnmarc",)),
    Kind("field_210", "出版发行项不全（210$a/$c/$d）",
         "210 字段缺出版地 $a、出版者 $c 或出版年 $d 中的一项或几项（说明中列出所缺）",
         NORMAL, "按版权页补录；不详时著录 [出版地不详]、[出版者不详] 或推测年", ("cnmarc",)),
    Kind("field_215a", "缺载体形态（215$a）", "215 字段没有 $a 页数或卷册数",
         NORMAL, "按书著录页数，如 215 ##$a320页$d21cm", ("cnmarc",)),
    Kind("field_245a", "缺正题名（245$a）", "MARC 21 245 字段没有 $a", SERIOUS,
         "按题名页著录 245$a", ("marc21",)),
    Kind("field_008", "缺定长数据（008）", "MARC 21 记录没有 008 字段（出版年、语种等定长数据）",
         NORMAL, "在编目系统中补建 008", ("marc21",)),
    Kind("field_264", "出版发行项不全（260/264 $a/$b/$c）",
         "260 或 264 字段缺出版地 $a、出版者 $b 或出版年 $c（说明中列出所缺）",
         NORMAL, "按版权页补录；不详时著录 [Place of publication not identified] 等",
         ("marc21",)),
    Kind("field_300a", "缺载体形态（300$a）", "300 字段没有 $a 页数", NORMAL,
         "按书著录页数，如 300 ##$a320 p.", ("marc21",)),
    # -- classification (分类) ------------------------------------------------------------
    Kind("clc_invalid", "分类号不合《中图法》",
         "分类号的前三级类目（如 I 文学 → I2 中国文学 → I24 小说；工业技术为 T → TP → TP3）"
         "有一级不在《中图法》类目表中，或写法不合《中图法》标记制度"
         "（字母后为数字，每三位数字后加小数点）",
         SERIOUS, "按《中图法》第五版改正分类号"),
    Kind("clc_call_mismatch", "索书号与分类号不一致",
         "本馆馆藏索书号的分类号部分（“/”之前）与记录的中图分类号互不包含，排架与分类检索不一致",
         NORMAL, "统一分类号：改正 690$a 或改正馆藏索书号"),
    # -- pinyin, responsibility (拼音、责任者) ---------------------------------------------
    Kind("pinyin_missing", "缺题名拼音（200$A / $9）",
         "联合目录要求本馆著录正题名汉语拼音（200$A 或 $9），此记录没有",
         NORMAL, "按《中文图书机读目录格式使用手册》补录正题名拼音", ("cnmarc",)),
    Kind("resp_mismatch", "责任说明与检索点不一致（200$f / 7XX）",
         "200$f 著录了责任者，但没有 7XX 个人或团体名称检索点，或 7XX 的名称在 200$f/$g 中都找不到",
         NORMAL, "为 200$f 的主要责任者建 701/711 检索点，或改正拼写不一致的名称",
         ("cnmarc",)),
    # -- coded data (指示符、定长字段) -----------------------------------------------------
    Kind("indicator_invalid", "指示符无效",
         "字段指示符取了格式不允许的值（如 CNMARC 200 第一指示符只能为 0/1，"
         "7XX 个人名称第二指示符只能为 0/1；"
         "MARC 21 245 第一指示符 0/1、第二指示符 0–9）",
         NORMAL, "按格式改正指示符"),
    Kind("fixed_100", "100$a 通用处理数据错误",
         "100$a 应为 36 位：0–7 位入档日期、8 位出版日期类型、9–12 位出版年、22–24 位编目语种、"
         "26–29 位字符集；或用 # 等符号代替了空格",
         NORMAL, "在编目系统中按格式重建 100$a", ("cnmarc",)),
    Kind("fixed_008", "008 定长数据错误",
         "008 应为 40 位：00–05 位入档日期、06 位日期类型、07–10 位出版年", NORMAL,
         "在编目系统中按格式重建 008", ("marc21",)),
    # -- holdings (馆藏) ----------------------------------------------------------------------
    Kind("no_barcode", "馆藏无条码", "至少一条馆藏没有条码号，无法流通、清点或按册统计",
         SERIOUS, "为每一册补录条码"),
    Kind("barcode_range", "条码不在本馆号段", "馆藏条码不在 config.yaml 为该馆配置的条码号段内，"
         "多为挂错馆或录错条码", NORMAL, "核对条码；挂错馆的把馆藏移到正确的馆"),
)
KIND_CODES: tuple[str, ...] = tuple(k.code for k in KINDS)
KIND_LABELS: dict[str, str] = {k.code: k.label for k in KINDS}
BY_CODE: dict[str, Kind] = {k.code: k for k in KINDS}
