#!/usr/bin/env python3
"""Writes the benchmark rule pack and the phrase list for the ripgrep comparison.

    python3 bench/make_pack.py --out /tmp/bench-rules [--rules rules]

OUT/ gets a copy of rules/*.toml (scorecard.toml included) plus bench_extra.toml: 30 `forbid` rules in the custom
category `bench_extra` (Chinese and English; 4 literal phrases and 1 regex each), so the whole
pack has at least 300 literal phrases and 30 regexes — the size of a real production pack.
Every extra rule has examples.match / examples.no_match that pass `callqa rules test OUT`.

With --fuzzy, every Chinese forbid/require/reward rule with phrases also gets
`fuzzy = "pinyin"` (homophone matching), for measuring what fuzzy matching costs.

OUT/phrases.txt (beside the .toml files, ignored by callqa, which reads only *.toml) lists every
literal phrase and exclusion of the pack (nested conditions included), NFKC-normalized and lowercased, one per line, for
`rg --count-matches -F -f OUT/phrases.txt FILE`. Standard library only.

With `--similar N` (at most 20) OUT also gets bench_similar.toml: N `similar` rules (category
`bench_similar`, half Chinese, half English, 3 example sentences and 1 counter-example each),
for measuring what paraphrase rules cost (bench/similar.sh). phrases.txt is the same either way.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tomllib
import unicodedata
from pathlib import Path

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "rules"

MIN_PHRASES = 300
MIN_REGEXES = 30

# (id, lang, severity, message, phrases, regex, an utterance the regex matches)
EXTRA_RULES = [
    ("X-ZH-001", "zh", "major", "不得推诿退款问题", ["退款慢是正常的", "退款的事我们管不着", "退款您自己去查", "退款就是这么慢"],
     r"退款.{0,4}(失败|延迟)", "您这个退款一直延迟也没办法"),
    ("X-ZH-002", "zh", "minor", "不得把物流问题推给客户", ["快递丢了不归我们", "物流的事问快递", "那是快递员的问题", "自己去驿站找"],
     r"(快递|物流).{0,6}(您自己|自己)去?(查|问|找)", "快递的话您自己去问"),
    ("X-ZH-003", "zh", "minor", "不得催促客户", ["您快点说", "赶紧说", "快点决定", "别磨蹭了"],
     r"(快点|赶紧)(说|讲|决定)", "您赶紧讲吧"),
    ("X-ZH-004", "zh", "major", "不得诋毁同业", ["别家都是骗人的", "其他银行都不靠谱", "别的公司更差", "竞品都是坑"],
     r"(别家|其他家|其他银行).{0,4}(骗人|不靠谱|很差)", "其他家都很差的"),
    ("X-ZH-005", "zh", "critical", "不得私下联系或私下交易", ["加我微信", "加我私人微信", "私下转账", "转到我个人账户"],
     r"加我.{0,3}(微信|qq)", "您加我个QQ吧"),
    ("X-ZH-006", "zh", "major", "不得泄露他人信息", ["您老婆的账户", "别人的账户信息", "我帮您查他的记录", "告诉您他的手机号"],
     r"他(的)?(身份证|手机号|住址)是", "他的住址是人民路十号"),
    ("X-ZH-007", "zh", "minor", "不得诱导消费", ["不买就亏了", "错过就没了", "今天不办明天就涨价", "名额只剩最后一个"],
     r"只剩(最后)?(一|1|两|2)(个|份|名)", "现在只剩两份了"),
    ("X-ZH-008", "zh", "major", "不得对费用作出误导性表述", ["完全免费", "一分钱都不收", "没有任何费用", "零手续费"],
     r"(免|不收)(任何)?(手续费|年费|服务费)", "这张卡免年费的"),
    ("X-ZH-009", "zh", "minor", "不得流露不耐烦情绪", ["烦死了", "真麻烦", "又是你", "你怎么又打来了"],
     r"又(打|来)(电话)?了", "怎么又打电话了"),
    ("X-ZH-010", "zh", "major", "不得擅自承诺补偿", ["给您补偿五百", "我私人给您补偿", "我自己掏钱", "赔您双倍"],
     r"(赔|补偿)(您)?(双倍|三倍|\d+倍)", "补偿您三倍"),
    ("X-ZH-011", "zh", "major", "不得对利率作出绝对化表述", ["利息最低", "全网最低利率", "利率永远不变", "零利息"],
     r"利率.{0,4}(最低|不变)", "我们的利率一直最低"),
    ("X-ZH-012", "zh", "critical", "不得承诺修改征信记录", ["不会上征信", "征信没影响", "帮您消除逾期记录", "删除不良记录"],
     r"(消除|删除|洗白).{0,4}(记录|征信)", "可以帮您洗白征信"),
    ("X-ZH-013", "zh", "major", "不得透露内部系统问题", ["我们内部系统有漏洞", "系统经常出错", "后台可以随便改", "我让技术改一下数据"],
     r"(后台|系统).{0,4}(改一下|修改)", "后台那边改一下就好"),
    ("X-ZH-014", "zh", "major", "不得以挂断电话威胁客户", ["再这样我就挂了", "我要挂电话了", "不说我挂了", "没事我挂了啊"],
     r"我(就|要|先)挂(了|电话)", "您再骂人我就挂了"),
    ("X-ZH-015", "zh", "minor", "不得含糊答复", ["大概吧", "应该可以吧", "可能行", "差不多吧"],
     r"(大概|应该|可能)(可以|行)吧", "应该行吧"),
    ("X-ZH-016", "zh", "minor", "不得使用不当称呼", ["那个谁", "老头", "小姑娘", "大妈"],
     r"(喂){2,}", "喂喂，听得到吗"),
    ("X-ZH-017", "zh", "critical", "不得未经同意开通业务", ["必须办", "不办不行", "系统默认给您开通了", "已经偷偷给您开通了"],
     r"默认(给您|为您)?开通", "系统默认为您开通"),
    ("X-ZH-018", "zh", "minor", "不得以新人为由敷衍", ["不清楚你问别人", "这个没人知道", "我刚来的不懂", "问了也白问"],
     r"(刚来|新来)的.{0,3}不(懂|知道|清楚)", "我是新来的，不清楚"),
    ("X-EN-001", "en", "major", "Do not brush off refund questions", ["refunds are always slow", "not our fault the refund",
     "refund is stuck, nothing to do", "refunds take forever"], r"refund (is|was) (delayed|rejected)", "Your refund was rejected."),
    ("X-EN-002", "en", "minor", "Do not rush the customer", ["hurry up", "make it quick", "get to the point", "i don't have all day"],
     r"(hurry|speed) (it )?up", "Speed it up, please."),
    ("X-EN-003", "en", "major", "Do not badmouth competitors", ["other banks are a scam", "the competition is terrible",
     "they are all crooks", "don't trust other providers"], r"(other|those) (banks|providers|companies) (are|is) (a scam|terrible|useless)",
     "Those providers are useless."),
    ("X-EN-004", "en", "critical", "Do not move the customer to private channels", ["call me on my cell", "my personal number",
     "text me directly", "pay me directly"], r"(whatsapp|text) me (on|at)", "Just WhatsApp me on this number."),
    ("X-EN-005", "en", "major", "Do not disclose third-party information", ["your wife's account", "your husband's balance",
     "his card number is", "her address is"], r"(his|her) (phone|account) number is", "Her account number is on file."),
    ("X-EN-006", "en", "minor", "Do not use pressure selling", ["offer ends today", "only one left", "act now", "last chance"],
     r"only \d+ (left|remaining)", "There are only 2 left."),
    ("X-EN-007", "en", "major", "Do not make misleading fee claims", ["completely free", "no fees ever", "zero charges",
     "no hidden costs at all"], r"no (annual|monthly|setup) fees?", "This card has no annual fee."),
    ("X-EN-008", "en", "minor", "Do not show irritation", ["seriously?", "oh great", "not again", "are you kidding"],
     r"\byou again\b", "Oh, you again."),
    ("X-EN-009", "en", "major", "Do not promise unauthorised compensation", ["i'll pay you back myself", "i'll give you double",
     "out of my own pocket", "we'll triple it"], r"(double|triple) the (refund|compensation)", "We'll double the refund."),
    ("X-EN-010", "en", "critical", "Do not promise to change credit records", ["won't affect your credit", "we'll wipe the record",
     "remove the late payment", "clean your credit file"], r"(wipe|remove|erase) (the|your) (record|history)", "I can erase your history."),
    ("X-EN-011", "en", "major", "Do not threaten to hang up", ["i'm hanging up", "i will hang up", "i'll end the call", "goodbye then"],
     r"hang(ing)? up (now|on you)", "I'm going to hang up on you."),
    ("X-EN-012", "en", "minor", "Do not guess", ["probably fine", "should be okay i guess", "maybe, maybe not", "who knows"],
     r"\bi (guess|suppose) (so|it will)\b", "I guess so."),
]

NO_MATCH = {
    "zh": ["好的，我这边帮您查询一下。", "预计明天上午10点前处理完成，届时会短信通知您"],
    "en": ["Okay, let me pull that up for you.", "You'll get an email from us by tomorrow noon."],
}
MATCH_TEMPLATE = {"zh": "嗯，{}。", "en": "Well, {}."}


def norm(s: str) -> str:
    """NFKC + lowercase + collapsed white space (the pack is written in Simplified Chinese)."""
    return " ".join(unicodedata.normalize("NFKC", s).lower().split())


def conditions(node) -> list[dict]:
    """Every table of a rule that can hold phrases / exclude / regex: the rule itself and its
    nested conditions (when, steps, trigger, response, all / any / not, near), not examples."""
    found = []
    if isinstance(node, dict):
        if any(k in node for k in ("phrases", "exclude", "regex")):
            found.append(node)
        for key, value in node.items():
            if key != "examples":
                found += conditions(value)
    elif isinstance(node, list):
        for item in node:
            found += conditions(item)
    return found


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(toml_str(i) for i in items) + "]"


def extra_toml() -> str:
    out = ["# Benchmark-only rules (bench/make_pack.py): a custom category that brings the pack to",
           "# production size (>= 300 literal phrases, >= 30 regexes). Not part of the bundled pack.", ""]
    for rid, lang, severity, message, phrases, regex, regex_example in EXTRA_RULES:
        match = [MATCH_TEMPLATE[lang].format(phrases[0]), regex_example]
        no_match = NO_MATCH[lang]
        # Cheap self-check before callqa's own `rules test`.
        for ex in match:
            n = norm(ex)
            assert any(norm(p) in n for p in phrases) or re.search(regex, n), (rid, ex)
        for ex in no_match:
            n = norm(ex)
            assert not any(norm(p) in n for p in phrases) and not re.search(regex, n), (rid, ex)
        out += [
            "[[rule]]",
            f"id = {toml_str(rid)}",
            'kind = "forbid"',
            'category = "bench_extra"',
            f"severity = {toml_str(severity)}",
            'speaker = "agent"',
            f"lang = {toml_str(lang)}",
            f"message = {toml_str(message)}",
            f"phrases = {toml_list(phrases)}",
            "regex = [" + "'" + regex + "'" + "]",
            f"examples.match = {toml_list(match)}",
            f"examples.no_match = {toml_list(no_match)}",
            "",
        ]
    return "\n".join(out)


FUZZY_KINDS = {"forbid", "require", "reward"}


def with_fuzzy(text: str) -> tuple[str, int]:
    """Adds fuzzy = "pinyin" to each Chinese rule of FUZZY_KINDS with phrases; returns the new
    text and how many rules it changed."""
    blocks = re.split(r"(?m)^(?=\[\[rule\]\])", text)
    changed = 0
    for i, block in enumerate(blocks):
        if not block.startswith("[[rule]]"):
            continue
        rule = tomllib.loads(block)["rule"][0]
        if (rule.get("kind") in FUZZY_KINDS and rule.get("lang") == "zh"
                and rule.get("phrases") and "fuzzy" not in rule):
            blocks[i] = re.sub(r'(?m)^(kind = .*)$', r'\1\nfuzzy = "pinyin"', block, count=1)
            changed += 1
    return "".join(blocks), changed


# (id, lang, effect, like sentences, unlike sentence) for --similar; examples.match is the first
# like sentence itself, examples.no_match an unrelated sentence of the language.
SIMILAR_RULES = [
    ("S-ZH-01", "zh", "reward", ["我理解您的心情", "我能体会您的感受", "换作是我也会着急"], "我不理解您的意思"),
    ("S-ZH-02", "zh", "violation", ["我保证马上给您解决", "这个问题今天一定能处理好", "肯定不会再出问题"], "我们会尽快为您处理"),
    ("S-ZH-03", "zh", "reward", ["给您带来不便非常抱歉", "让您久等了实在不好意思", "耽误您的时间了"], "这个不是我们的问题"),
    ("S-ZH-04", "zh", "violation", ["这个不归我们管", "您去找别的部门吧", "这事我们处理不了您自己想办法"], "我帮您转接相关部门"),
    ("S-ZH-05", "zh", "violation", ["您听不懂吗", "我都说了好几遍了", "这么简单都不会"], "我再给您说明一下"),
    ("S-ZH-06", "zh", "reward", ["还有什么可以帮您的吗", "请问还有其他问题吗", "您看还有别的需要吗"], "您的问题已经记录"),
    ("S-ZH-07", "zh", "violation", ["这个产品稳赚不赔", "收益肯定比存款高", "保证不会亏本"], "理财有风险投资需谨慎"),
    ("S-ZH-08", "zh", "reward", ["为了您的账户安全请核实身份", "需要先验证一下您的身份信息", "麻烦您提供身份证后四位"], "您的身份已经被冻结"),
    ("S-ZH-09", "zh", "violation", ["您爱办不办", "不满意您就去投诉吧", "投诉也没用"], "您可以通过官方渠道反馈"),
    ("S-ZH-10", "zh", "reward", ["感谢您的耐心等待", "谢谢您的理解和支持", "非常感谢您的配合"], "请您耐心等待结果"),
    ("S-EN-01", "en", "reward", ["I understand how frustrating this is", "I can see why you are upset", "I get why you are upset"], "I don't understand the question"),
    ("S-EN-02", "en", "violation", ["I guarantee this will be fixed today", "I promise we will sort it out right away", "this will definitely never happen again"], "we will try to sort it out as soon as possible"),
    ("S-EN-03", "en", "reward", ["I'm sorry for the inconvenience", "I apologise for the wait", "sorry to keep you waiting"], "the delay is not our fault"),
    ("S-EN-04", "en", "violation", ["that is not handled by our department", "you need to call someone else", "there is nothing I can do about it"], "let me transfer you to the right team"),
    ("S-EN-05", "en", "violation", ["as I already told you", "I have explained this several times", "it's really not that complicated"], "let me explain that again"),
    ("S-EN-06", "en", "reward", ["is there anything else I can help you with", "can I help with anything else today", "do you have any other questions"], "your question has been logged"),
    ("S-EN-07", "en", "violation", ["this investment cannot lose money", "you will definitely earn more than a deposit", "the returns are guaranteed"], "investments carry risk"),
    ("S-EN-08", "en", "reward", ["for your security I need to verify your identity", "could you confirm your date of birth", "please confirm the last four digits of your card"], "your card has been blocked"),
    ("S-EN-09", "en", "violation", ["take it or leave it", "go ahead and complain if you want", "complaining won't change anything"], "you can give feedback through our official channel"),
    ("S-EN-10", "en", "reward", ["thank you for your patience", "thanks for bearing with me", "I appreciate your understanding"], "please be patient while we check"),
]
SIMILAR_NO_MATCH = {"zh": "好的，您的快递明天到", "en": "Okay, your parcel arrives tomorrow"}


def similar_toml(count: int) -> str:
    out = ["# Benchmark-only `similar` rules (bench/make_pack.py --similar N): what paraphrase rules cost.", ""]
    for rid, lang, effect, like, unlike in SIMILAR_RULES[:count]:
        out += [
            "[[rule]]",
            f"id = {toml_str(rid)}",
            'kind = "similar"',
            'category = "bench_similar"',
            'severity = "info"' if effect == "reward" else 'severity = "minor"',
            f"lang = {toml_str(lang)}",
            f"effect = {toml_str(effect)}",
            f"message = {toml_str(rid)}",
            f"like = {toml_list(like)}",
            f"unlike = {toml_list([unlike])}",
            f"examples.match = {toml_list([like[0]])}",
            f"examples.no_match = {toml_list([SIMILAR_NO_MATCH[lang]])}",
            "",
        ]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    ap.add_argument("--fuzzy", action="store_true", help='add fuzzy = "pinyin" to Chinese phrase rules')
    ap.add_argument("--similar", type=int, default=0, help="add N `similar` rules (at most 20)")
    args = ap.parse_args()
    if not 0 <= args.similar <= len(SIMILAR_RULES):
        sys.exit(f"make_pack: --similar takes 0 to {len(SIMILAR_RULES)}")

    sources = sorted(args.rules.glob("*.toml"))
    if not sources:
        sys.exit(f"make_pack: no *.toml in {args.rules}")
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.toml"):
        old.unlink()
    for src in sources:
        shutil.copyfile(src, args.out / src.name)
    (args.out / "bench_extra.toml").write_text(extra_toml(), encoding="utf-8")
    if args.fuzzy:
        fuzzy_rules = 0
        for f in sorted(args.out.glob("*.toml")):
            text, changed = with_fuzzy(f.read_text(encoding="utf-8"))
            f.write_text(text, encoding="utf-8")
            fuzzy_rules += changed
        print(f"make_pack: fuzzy = \"pinyin\" on {fuzzy_rules} rules", file=sys.stderr)
    if args.similar:
        (args.out / "bench_similar.toml").write_text(similar_toml(args.similar), encoding="utf-8")

    phrases, literal_count, regex_count, rule_count = set(), 0, 0, 0
    for f in sorted(args.out.glob("*.toml")):
        with open(f, "rb") as fh:
            for rule in tomllib.load(fh).get("rule", []):  # scorecard.toml has none
                rule_count += 1
                leaves = conditions(rule)
                literal_count += sum(len(c.get("phrases", [])) for c in leaves)
                regex_count += sum(len(c.get("regex", [])) for c in leaves)
                for c in leaves:
                    for key in ("phrases", "exclude"):
                        phrases.update(norm(p) for p in c.get(key, []) if isinstance(p, str))
    if literal_count < MIN_PHRASES or regex_count < MIN_REGEXES:
        sys.exit(f"make_pack: only {literal_count} phrases / {regex_count} regexes")
    (args.out / "phrases.txt").write_text("\n".join(sorted(phrases)) + "\n", encoding="utf-8")
    print(f"make_pack: {args.out}: {rule_count} rules, {literal_count} phrases, {regex_count} regexes; "
          f"phrases.txt has {len(phrases)} distinct phrases and exclusions", file=sys.stderr)


if __name__ == "__main__":
    main()
