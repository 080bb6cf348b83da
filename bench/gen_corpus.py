#!/usr/bin/env python3
"""Deterministic corpus generator for the callqa benchmark.

    python3 bench/gen_corpus.py --seed 42 --size-mb 100 --out /tmp/corpus-100.jsonl
    python3 bench/gen_corpus.py --seed 42 --calls 5000 --out /tmp/corpus-5k.jsonl

Writes JSONL call records following the README input contract: ~55% Simplified Chinese,
~15% Traditional Chinese, ~30% English; ~24 alternating agent/customer turns and ~3 KB per call
on average, with start_ms/end_ms (gaps, a few long holds), ~200 agents, repeating customers and
started_at spread over one day. About 0.5% of the lines are broken (bad JSON, missing fields,
bad timestamps...) and a few are duplicate call_ids, so the rejects path is exercised.

Hits and non-hits come from the rule pack itself (parsed with tomllib): every rule's
examples.match / examples.no_match (single utterances, or multi-turn snippets inserted as
consecutive turns — that is how sequence / response rules get calls that meet and miss them),
templates built around its phrases, and near-misses built around its exclusions (不能保证,
保证金, "I can't guarantee" ...). Timing rules are exercised by the corpus timing itself. Greetings, recording notices,
identity checks and closings are present in most calls and missing in some; banned wording,
over-promises and fatal violations are occasional. Only the standard library is used, so the
same seed gives byte-identical output on any machine (Python ≥ 3.11).

Output is streamed (one call at a time) into OUT.tmp and renamed to OUT when complete; a
sidecar OUT.stats.json holds the counts and the total audio duration (sum over the valid,
non-duplicate calls of last end_ms − first start_ms), which bench/run.sh uses for
"hours of audio per second".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "rules"

# ------------------------------------------------------------------ Simplified → Traditional
# Character pairs (simplified, traditional) from OpenCC's STCharacters + TWVariants tables,
# restricted to the characters of the phrase banks below and of the bundled rule pack. Embedded (instead of
# importing opencc) so that output does not depend on what is installed. Characters not listed
# stay as they are (the text is then mixed, as real ASR output sometimes is).
S2T_PAIRS = (
    "专專 业業 丢丟 两兩 严嚴 个個 为為 么麼 争爭 于於 亏虧 产產 亲親 从從 仓倉 们們 优優 会會 传傳 体體 余餘 储儲 兑兌 关關 "
    "兴興 内內 册冊 写寫 决決 况況 冻凍 准準 减減 几幾 划劃 刚剛 别別 办辦 务務 动動 区區 医醫 协協 单單 占佔 厅廳 发發 变變 "
    "号號 后後 吗嗎 听聽 员員 响響 园園 图圖 场場 块塊 处處 备備 复復 学學 实實 审審 宽寬 对對 导導 将將 尽盡 届屆 师師 带帶 "
    "帮幫 并並 库庫 应應 开開 异異 强強 归歸 当當 录錄 征徵 态態 户戶 托託 抚撫 护護 报報 担擔 挂掛 损損 换換 据據 携攜 数數 "
    "断斷 无無 时時 显顯 暂暫 术術 机機 条條 来來 标標 样樣 检檢 欢歡 气氣 没沒 测測 满滿 灯燈 点點 烦煩 爱愛 状狀 现現 电電 "
    "疗療 着著 码碼 确確 礼禮 种種 积積 称稱 稳穩 笔筆 笼籠 签簽 简簡 类類 红紅 约約 级級 线線 细細 经經 绑綁 结結 给給 络絡 "
    "绝絕 统統 绪緒 续續 维維 综綜 缴繳 网網 联聯 脱脫 范範 营營 补補 装裝 见見 规規 视視 触觸 计計 订訂 认認 让讓 议議 记記 "
    "讲講 访訪 证證 评評 诉訴 诊診 试試 话話 询詢 详詳 语語 误誤 说說 请請 诺諾 读讀 诿諉 调調 谢謝 谨謹 负負 财財 责責 败敗 "
    "账賬 货貨 质質 购購 贵貴 贷貸 费費 资資 赔賠 赚賺 车車 转轉 轮輪 边邊 达達 过過 还還 这這 进進 远遠 迟遲 递遞 邮郵 采採 "
    "释釋 里裡 钱錢 银銀 销銷 错錯 长長 门門 问問 间間 险險 随隨 项項 须須 预預 频頻 题題 额額 风風 馈饋 马馬 驿驛 验驗 齐齊 "
)
S2T = {}
for _pair in S2T_PAIRS.split():
    if len(_pair) == 2 and _pair[0] != _pair[1]:
        S2T[ord(_pair[0])] = _pair[1]


def to_traditional(text: str) -> str:
    return text.translate(S2T)


# ------------------------------------------------------------------ phrase banks

DOMAINS = ["cards", "broadband", "ecommerce", "insurance", "utilities", "loans"]

ZH_CUSTOMER_ISSUES = {
    "cards": ["我的卡被冻结了，刷不了。", "我的信用卡多扣了一笔钱。", "我想查一下这个月的账单。",
              "我的卡丢了，要挂失。", "为什么我的额度降了？"],
    "broadband": ["我家宽带从昨天开始就断线了。", "网络一直不稳定，看视频老卡。", "路由器的灯一直是红的。",
                  "我想换个套餐，现在的太贵了。", "师傅说今天上门，一直没来。"],
    "ecommerce": ["我的包裹显示已签收，但是我没收到。", "收到的花瓶是碎的，我要退货。", "退款申请提交三天了还没到。",
                  "我想改一下收货地址。", "快递一直停在中转站不动。"],
    "insurance": ["我想问一下车险续保的事情。", "上个月住院的理赔材料已经交了，什么时候能赔？", "保单怎么显示已经过期了？",
                  "我想退保，要怎么办？", "这个险种包不包括门诊？"],
    "utilities": ["这个月的电费怎么这么高？", "家里燃气表读数好像不对。", "我想办一下缴费的自动扣款。",
                  "停电了，什么时候能恢复？", "我交了费怎么还显示欠费？"],
    "loans": ["我想提前还贷，要怎么操作？", "这个月的还款扣款失败了。", "我想问一下贷款利率。",
              "为什么我的贷款审批这么久？", "逾期一天会不会影响征信？"],
}
ZH_AGENT_LINES = {
    "cards": ["我这边看到您的卡因为异地大额交易触发了风控，暂时冻结了。", "这笔交易是昨天晚上八点在线上商户发生的。",
              "您可以在手机银行里查看最近三个月的账单明细。", "挂失之后会在七个工作日内补发新卡，邮寄到您的账单地址。",
              "额度调整是根据您近期的用卡情况综合评估的。", "我帮您提交争议交易的调查申请。"],
    "broadband": ["我这边看到您所在的小区在做线路维护。", "请您先把路由器断电，等三十秒再重新开机。",
                  "我帮您预约了维修师傅，明天上午九点到十二点上门。", "现在的套餐是每月一百二十九元，包含三百兆宽带。",
                  "我这边远程测试了一下，信号是正常的。", "维修工单已经生成，工单号已经短信发给您了。"],
    "ecommerce": ["我这边看到包裹是昨天下午放在驿站代收的。", "请您拍一下外包装和破损商品的照片上传一下。",
                  "退款会原路退回到您的支付账户，一般三到五个工作日。", "我帮您修改一下收货地址，请您再确认一遍。",
                  "我已经联系快递那边核实派送情况了。", "换货的话需要先把商品寄回仓库。"],
    "insurance": ["您的车险是今年十二月五号到期。", "理赔材料我们已经收到了，目前在审核中。",
                  "保单过期后有三十天的宽限期，可以补缴保费。", "退保的话会按照条款退还未到期部分的保费。",
                  "这个险种只包含住院医疗，不包括门诊费用。", "审核结果出来以后会短信通知您。"],
    "utilities": ["您这个月的用电量是四百二十度，比上个月多了一百度。", "我帮您安排工作人员上门核对一下表的读数。",
                  "自动扣款可以在营业厅或者手机上签约。", "您所在的区域是计划检修，预计下午五点恢复供电。",
                  "缴费之后系统同步需要一到两个小时。", "我帮您查一下最近六个月的缴费记录。"],
    "loans": ["提前还款需要提前三个工作日预约。", "扣款失败是因为还款账户余额不足。",
              "目前一年期的贷款利率是百分之三点四五。", "您的贷款申请还在审批中，资料都是齐全的。",
              "逾期记录会按照规定上报，建议您尽快还款。", "我帮您把还款日调整到每月十五号。"],
}
ZH_AGENT_GENERIC = ["好的，我这边帮您查询一下。", "请您稍等，我看一下系统记录。", "嗯，我明白了。",
                    "请问还有其他需要帮您的吗？", "好的，已经帮您备注了。", "请您提供一下订单号。",
                    "我这边看到的记录是这样的。", "这个需要您本人携带证件到营业厅办理。", "ＯＫ，我帮您记下来了。",
                    "好的，请您注意查收短信。", "请您留意一下来电，我们会再联系您。", "我再跟您说明一下办理流程。"]
ZH_CUSTOMER_GENERIC = ["好的。", "嗯嗯，明白了。", "那要多久？", "可以，你帮我看一下吧。", "这个我不太清楚。",
                       "我刚才已经说过了。", "对，是我本人。", "那我需要准备什么材料？", "行，那就这样吧。",
                       "我手机尾号是八八六五。", "为什么这么麻烦？", "你们上次也是这么说的。", "好吧，那我等通知。",
                       "你们保证过今天到账的。", "我昨天打过一次电话了。", "ＯＫ，知道了。"]
ZH_CUSTOMER_BYE = ["好的，谢谢，再见。", "行，那就这样，拜拜。", "知道了，谢谢。", "嗯，没有了，谢谢。"]

EN_CUSTOMER_ISSUES = {
    "cards": ["Hi, my card got declined at the grocery store and I have no idea why.",
              "There's a charge on my statement I don't recognize.", "I lost my card yesterday, I need to block it.",
              "Why did my credit limit go down?", "I'd like to check my balance and recent payments."],
    "broadband": ["My internet has been down since yesterday evening.", "The connection keeps dropping every few minutes.",
                  "The light on my router is blinking red.", "I want to switch to a cheaper plan.",
                  "The technician was supposed to come this morning and never showed up."],
    "ecommerce": ["My parcel says delivered but I never got it.", "The vase I ordered arrived broken.",
                  "I returned an item two weeks ago and still no refund.", "Can I change the delivery address on my order?",
                  "The tracking hasn't moved in five days."],
    "insurance": ["I'm calling about renewing my car insurance.", "I sent in my claim documents last month, any news?",
                  "My policy shows as expired, how did that happen?", "I'd like to cancel my policy.",
                  "Does my plan cover outpatient visits?"],
    "utilities": ["My electricity bill is way higher than usual this month.", "I think the gas meter reading is wrong.",
                  "I'd like to set up direct debit for my bills.", "The power's out on our street, when will it be back?",
                  "I paid my bill but it still shows as overdue."],
    "loans": ["I want to pay off my loan early.", "My monthly payment failed to go through.",
              "What interest rate would I get on a personal loan?", "My loan application has been pending for weeks.",
              "Will one late payment hurt my credit score?"],
}
EN_AGENT_LINES = {
    "cards": ["I can see the card was blocked by our fraud system after a large overseas transaction.",
              "The charge was made online last night at eight fifteen.", "A replacement card will arrive within seven business days.",
              "Your limit was reviewed based on recent account activity.", "I'll open a dispute for that transaction now."],
    "broadband": ["There's planned maintenance on the line in your area.", "Could you unplug the router, wait thirty seconds and plug it back in?",
                  "I've booked a technician for tomorrow between nine and twelve.", "Your current plan is forty nine a month for three hundred megabits.",
                  "I ran a remote line test and the signal looks normal now."],
    "ecommerce": ["The courier marked it as left with a neighbour at two in the afternoon.", "Could you upload a photo of the box and the damaged item?",
                  "Refunds go back to the original payment method within three to five business days.",
                  "I've updated the delivery address, could you confirm it for me?", "I've asked the courier to investigate the delivery."],
    "insurance": ["Your car policy renews on the fifth of December.", "We received your claim documents and they're being reviewed.",
                  "There's a thirty day grace period after the policy lapses.", "If you cancel, the unused part of the premium is refunded.",
                  "Your plan covers hospital stays but not outpatient visits."],
    "utilities": ["Your usage this month was four hundred and twenty units, about a third more than last month.",
                  "I can arrange for an engineer to check the meter.", "You can set up direct debit online or over the phone with me.",
                  "There's an outage in your area, the current estimate is power back by five pm.", "Payments can take an hour or two to show up."],
    "loans": ["Early repayment needs three business days' notice.", "The payment failed because the account had insufficient funds.",
              "The current rate for a one year personal loan is six point nine percent.", "Your application is still with the underwriting team.",
              "I can move your payment date to the fifteenth of each month."],
}
EN_AGENT_GENERIC = ["Okay, let me pull that up for you.", "One moment please while I check the system.", "Right, I see.",
                    "Is there anything else I can help with?", "I've added a note to your account.", "Could you give me the order number?",
                    "Here's what I'm seeing on my end.", "You'll need to bring a photo ID to one of our branches.",
                    "Please keep an eye on your email.", "We'll call you back on this number.", "Let me go through the steps again."]
EN_CUSTOMER_GENERIC = ["Okay.", "Right, got it.", "How long will that take?", "Sure, go ahead.", "I'm not sure about that.",
                       "I already explained this.", "Yes, that's me.", "What do I need to bring?", "Fine, let's do that.",
                       "It ends in eight eight six five.", "Why is this so complicated?", "That's what they told me last time.",
                       "Alright, I'll wait for the email.", "You promised me it would be fixed today.", "I called yesterday too."]
EN_CUSTOMER_BYE = ["Okay, thanks, bye.", "That's all, thank you.", "Great, thanks for your help.", "No, that's it. Bye."]

ZH_PREFIXES = ["", "", "嗯，", "好的，", "是这样的，", "那个，", "您看，", "这边", "我们"]
ZH_SUFFIXES = ["。", "。", "，您看可以吗？", "的。", "，您放心。", "，请您稍等。", "，好吧？"]
EN_PREFIXES = ["", "", "Okay, ", "Well, ", "Look, ", "So, ", "Honestly, ", "Right, "]
EN_SUFFIXES = [".", ".", ", okay?", " for you.", ", alright?", " on this one.", "!"]

# Probability that a call meets a `require` rule (else a no_match utterance is said instead).
P_REQUIRE_MET = {"first": 0.92, "last": 0.88, "whole": 0.90}
# Probability per call that a `forbid` rule is violated, by severity.
P_FORBID = {"info": 0.02, "minor": 0.035, "major": 0.02, "critical": 0.008, "fatal": 0.002}
P_NEAR_MISS = 0.05  # per forbid rule with examples/exclusions: a non-hit that looks close
P_REWARD = 0.22
P_REWARD_MISS = 0.06
P_SCENARIO_GOOD = 0.04  # per sequence / response rule: its match snippet
P_SCENARIO_BAD = 0.02   # ... or its no_match snippet
P_CUSTOMER_SAYS_FORBIDDEN = 0.05
P_BROKEN = 0.005
P_DUPLICATE = 0.0005
P_NO_TIMESTAMPS = 0.01


class Rule:
    """What the generator needs of a rule: its leaf phrases and its examples.

    Examples are single utterances (str) or multi-turn snippets ({turns = [...]}), which are
    inserted as consecutive turns (their timestamps are replaced by the corpus timing).
    """

    def __init__(self, d: dict):
        self.id = d["id"]
        self.kind = d["kind"]
        self.category = d["category"]
        self.severity = d["severity"]
        self.speaker = d.get("speaker", "agent")
        self.lang = d.get("lang", "any")
        # Only a top-level leaf condition gives phrases to build utterances around.
        self.phrases = list(d.get("phrases", []))
        self.exclude = list(d.get("exclude", []))
        scope = d.get("scope", {})
        self.scope = ("first" if ("first_turns" in scope or "first_seconds" in scope)
                      else "last" if ("last_turns" in scope or "last_seconds" in scope) else "whole")
        ex = d.get("examples", {})
        self.match = [e for e in ex.get("match", []) if isinstance(e, str)]
        self.no_match = [e for e in ex.get("no_match", []) if isinstance(e, str)]
        self.match_snippets = [snippet(e) for e in ex.get("match", []) if isinstance(e, dict)]
        self.no_match_snippets = [snippet(e) for e in ex.get("no_match", []) if isinstance(e, dict)]


def snippet(example: dict) -> list[tuple[str, str]]:
    return [(t.get("speaker", "agent"), t.get("text", "")) for t in example.get("turns", [])]


def load_pack(rules_dir: Path) -> list[Rule]:
    rules = []
    files = sorted(rules_dir.glob("*.toml"))
    if not files:
        sys.exit(f"gen_corpus: no *.toml rule files in {rules_dir}")
    for f in files:
        with open(f, "rb") as fh:
            data = tomllib.load(fh)
        rules.extend(Rule(r) for r in data.get("rule", []))  # scorecard.toml has none
    return rules


class Generator:
    def __init__(self, rng: random.Random, rules: list[Rule], est_calls: int):
        self.rng = rng
        self.rules = rules
        self.by_lang = {}
        for lang in ("zh", "en"):
            applicable = [r for r in rules if r.lang in ("any", lang)]
            self.by_lang[lang] = {
                "require": [r for r in applicable if r.kind == "require"],
                "forbid": [r for r in applicable if r.kind == "forbid"],
                "reward": [r for r in applicable if r.kind == "reward"],
                # sequence / response: scenario snippets (their examples); timing rules are
                # exercised by the corpus timing itself (gaps, holds, speech rate)
                "scenario": [r for r in applicable if r.kind in ("sequence", "response") and
                             (r.match_snippets or r.no_match_snippets)],
                "forbid_phrases": [p for r in applicable if r.kind == "forbid" for p in r.phrases],
            }
        # ~200 agents: 140 answer Chinese calls, 60 English ones; a few take many more calls.
        self.zh_agents = [f"a-{i:03d}" for i in range(1, 141)]
        self.en_agents = [f"a-{i:03d}" for i in range(141, 201)]
        self.zh_weights = [1.0 / (1 + (i % 40) * 0.05) for i in range(len(self.zh_agents))]
        self.en_weights = [1.0 / (1 + (i % 20) * 0.08) for i in range(len(self.en_agents))]
        # Customers: about 0.75 distinct ids per call, so many call more than once.
        self.customer_pool = max(10, int(est_calls * 0.75))
        self.day = datetime(2026, 11, 21, tzinfo=timezone(timedelta(hours=8)))

    # -- utterances -------------------------------------------------------------------------

    def around(self, phrase: str, lang: str) -> str:
        rng = self.rng
        if lang == "zh":
            return rng.choice(ZH_PREFIXES) + phrase + rng.choice(ZH_SUFFIXES)
        s = rng.choice(EN_PREFIXES) + phrase + rng.choice(EN_SUFFIXES)
        return s[0].upper() + s[1:]

    def hit(self, rule: Rule, lang: str):
        """An utterance (str, said by the agent) or a snippet (list of turns) the rule detects."""
        rng = self.rng
        if rule.phrases and (not (rule.match or rule.match_snippets) or rng.random() < 0.5):
            return self.said_by(rule, self.around(rng.choice(rule.phrases), lang))
        if rule.match and (not rule.match_snippets or rng.random() < 0.7):
            return self.said_by(rule, rng.choice(rule.match))
        return rng.choice(rule.match_snippets) if rule.match_snippets else None

    def non_hit(self, rule: Rule, lang: str):
        """Something close to the rule that it must not detect (no_match or an exclusion)."""
        rng = self.rng
        if rule.exclude and (not (rule.no_match or rule.no_match_snippets) or rng.random() < 0.5):
            return self.said_by(rule, self.around(rng.choice(rule.exclude), lang))
        if rule.no_match and (not rule.no_match_snippets or rng.random() < 0.7):
            return self.said_by(rule, rng.choice(rule.no_match))
        return rng.choice(rule.no_match_snippets) if rule.no_match_snippets else None

    @staticmethod
    def said_by(rule: Rule, text: str):
        return [("customer", text)] if rule.speaker == "customer" else text

    # -- one call ---------------------------------------------------------------------------

    def call(self, n: int) -> tuple[dict, int, str]:
        rng = self.rng
        r = rng.random()
        script = "hans" if r < 0.55 else "hant" if r < 0.70 else "en"
        lang = "en" if script == "en" else "zh"
        bank = self.by_lang[lang]
        domain = rng.choice(DOMAINS)
        if lang == "zh":
            issues, lines, agent_generic = ZH_CUSTOMER_ISSUES[domain], ZH_AGENT_LINES[domain], ZH_AGENT_GENERIC
            cust_generic, bye = ZH_CUSTOMER_GENERIC, ZH_CUSTOMER_BYE
        else:
            issues, lines, agent_generic = EN_CUSTOMER_ISSUES[domain], EN_AGENT_LINES[domain], EN_AGENT_GENERIC
            cust_generic, bye = EN_CUSTOMER_GENERIC, EN_CUSTOMER_BYE

        first, last, early, middle = [], [], [], []
        system_first = []
        for rule in bank["require"]:
            met = rng.random() < P_REQUIRE_MET[rule.scope]
            said = self.hit(rule, lang) if met else self.non_hit(rule, lang)
            if said is None:
                continue
            if isinstance(said, str) and rule.scope == "first":
                first.append(said)
            elif isinstance(said, str) and rule.scope == "last":
                last.append(said)
            elif isinstance(said, str) and rule.speaker == "any" and met and rng.random() < 0.3:
                system_first.append(said)  # an IVR prompt instead of the agent
            else:
                early.append(said)
        for rule in bank["forbid"]:
            if rng.random() < P_FORBID.get(rule.severity, 0.02):
                middle.append(self.hit(rule, lang))
            if rng.random() < P_NEAR_MISS:
                middle.append(self.non_hit(rule, lang))
        for rule in bank["reward"]:
            if rng.random() < P_REWARD:
                middle.append(self.hit(rule, lang))
            elif rng.random() < P_REWARD_MISS:
                middle.append(self.non_hit(rule, lang))
        for rule in bank["scenario"]:
            if rule.match_snippets and rng.random() < P_SCENARIO_GOOD:
                middle.append(rng.choice(rule.match_snippets))
            elif rule.no_match_snippets and rng.random() < P_SCENARIO_BAD:
                middle.append(rng.choice(rule.no_match_snippets))
        middle = [m for m in middle if m is not None]
        rng.shuffle(early)
        rng.shuffle(middle)

        # Agent turns (or snippets): greeting(s), early requirements, fillers and events,
        # closing(s).
        target_turns = max(8, min(60, int(rng.gauss(16.5, 5))))
        snippet_turns = sum(len(e) for e in early + middle if isinstance(e, list))
        agent_slots = max(target_turns // 2 - 2 - snippet_turns // 2, 1)
        events = early[:2] + middle + early[2:]
        agent_mid: list = []
        fillers = lines + agent_generic
        join = "" if lang == "zh" else " "
        while len(agent_mid) < agent_slots or events:
            if events and (rng.random() < 0.45 or len(agent_mid) >= agent_slots):
                said = events.pop(0)
                # Sometimes an event rides on a filler sentence in the same turn.
                if isinstance(said, str) and rng.random() < 0.3:
                    said = rng.choice(fillers) + join + said
                agent_mid.append(said)
            else:
                if rng.random() < 0.6:  # agents often say two things in one turn
                    agent_mid.append(join.join(rng.sample(fillers, 2)))
                else:
                    agent_mid.append(rng.choice(fillers))
        opening = join.join(first) if first else rng.choice(agent_generic)
        closing = join.join(last) if last else rng.choice(agent_generic)
        items = [opening] + agent_mid + [closing]

        turns: list[tuple[str, str]] = [("system", t) for t in system_first]
        cust_lines = [rng.choice(issues)]
        for i, item in enumerate(items):
            if isinstance(item, list):
                turns.extend(item)
                if item and item[-1][0] != "agent":
                    continue  # the snippet ended with the customer: the agent speaks next
            else:
                turns.append(("agent", item))
            if i == len(items) - 1:
                break
            if i == len(items) - 2:
                c = rng.choice(bye)
            elif cust_lines:
                c = cust_lines.pop()
            elif bank["forbid_phrases"] and rng.random() < P_CUSTOMER_SAYS_FORBIDDEN:
                # The customer quoting a forbidden phrase is not the agent's violation.
                phrase = rng.choice(bank["forbid_phrases"])
                c = f"你们上次说{phrase}的。" if lang == "zh" else f"Last time you said {phrase}."
            elif rng.random() < 0.3:
                c = join.join(rng.sample(cust_generic, 2))
            else:
                c = rng.choice(cust_generic)
            turns.append(("customer", c))
        if script == "hant":
            turns = [(s, to_traditional(t)) for s, t in turns]

        # Timing: speech rate by language, short gaps, an occasional hold.
        with_times = rng.random() >= P_NO_TIMESTAMPS
        t = rng.randint(0, 600)
        out_turns = []
        for speaker, text in turns:
            per_char = 230 if lang == "zh" else 62
            dur = int(len(text) * per_char * rng.uniform(0.8, 1.25)) + 300
            turn = {"speaker": speaker, "text": text}
            if with_times:
                turn["start_ms"] = t
                turn["end_ms"] = t + dur
            out_turns.append(turn)
            gap = rng.randint(15000, 90000) if rng.random() < 0.03 else rng.randint(150, 1400)
            t += dur + gap
        duration = (out_turns[-1]["end_ms"] - out_turns[0]["start_ms"]) if with_times else 0

        started = self.day + timedelta(seconds=self.start_second())
        if lang == "en" and rng.random() < 0.5:
            started_at = started.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            started_at = started.isoformat()
        agents, weights = (self.en_agents, self.en_weights) if lang == "en" else (self.zh_agents, self.zh_weights)
        record = {
            "call_id": f"c-{rng.getrandbits(32):08x}-{n:07d}",
            "agent_id": rng.choices(agents, weights)[0],
            "started_at": started_at,
            "channel": rng.choices(["voice", "callback", "video"], [90, 6, 4])[0],
        }
        r = rng.random()
        if r < 0.8:
            if script == "hans":
                record["language"] = rng.choice(["zh", "zh", "zh-CN"])
            elif script == "hant":
                record["language"] = rng.choice(["zh-Hant", "zh-TW", "zh-HK"])
            else:
                record["language"] = rng.choice(["en", "en-US", "en-GB"])
        if rng.random() < 0.95:
            record["customer_id"] = f"u-{rng.randint(1, self.customer_pool):07d}"
        record["metadata"] = {
            "queue": domain,
            "ivr_path": rng.sample(["main", domain, "billing", "tech", "vip", "retention"], 2),
            "asr_confidence": round(rng.uniform(0.82, 0.99), 3),
        }
        record["turns"] = out_turns
        return record, duration, script

    def start_second(self) -> int:
        # Busy from 08:00 to 22:00 with a lunch-time and an evening peak; a trickle at night.
        rng = self.rng
        if rng.random() < 0.06:
            return rng.randint(0, 86399)
        hour = rng.choices(range(8, 22), [5, 8, 10, 9, 7, 6, 8, 9, 8, 7, 8, 9, 6, 4])[0]
        return hour * 3600 + rng.randint(0, 3599)

    # -- broken lines -----------------------------------------------------------------------

    def broken(self, record: dict) -> bytes:
        rng = self.rng
        kind = rng.randrange(12)
        rec = json.loads(json.dumps(record))
        if kind == 0:  # truncated JSON (a line cut short by a crashed writer)
            line = dumps(rec)
            return line[: rng.randint(10, max(11, len(line) - 2))]
        if kind == 1:
            del rec["call_id"]
        elif kind == 2:
            del rec["turns"]
        elif kind == 3:
            rec["turns"] = []
        elif kind == 4:
            rec["agent_id"] = ""
        elif kind == 5:
            rng.choice(rec["turns"])["speaker"] = rng.choice(["bot", "AGENT", "ivr"])
        elif kind == 6:
            del rng.choice(rec["turns"])["text"]
        elif kind == 7:
            rec["turns"][0]["start_ms"] = -rng.randint(1, 5000)
        elif kind == 8:
            t = rng.choice(rec["turns"])
            t["start_ms"], t["end_ms"] = 5000, 4000
        elif kind == 9:
            rec["started_at"] = "21/11/2026 09:14"
        elif kind == 10:
            rec["turns"] = "agent: 您好"
        else:  # not valid UTF-8
            return dumps(rec).replace(b'"turns"', b'"turns\xff"', 1)
        return dumps(rec)


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=42)
    size = ap.add_mutually_exclusive_group(required=True)
    size.add_argument("--size-mb", type=float, help="stop once this many MB (10^6 bytes) are written")
    size.add_argument("--calls", type=int, help="number of lines (call records) to write")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--rules", type=Path, default=DEFAULT_RULES,
                    help="rule pack folder whose phrases and examples are used (default: the repo's rules/)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    rules = load_pack(args.rules)
    target_bytes = int(args.size_mb * 1_000_000) if args.size_mb else None
    est_calls = args.calls if args.calls else int(target_bytes / 3000)
    rng = random.Random(args.seed)
    gen = Generator(rng, rules, est_calls)

    tmp = args.out.with_name(args.out.name + ".tmp")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stats = {"seed": args.seed, "rules": str(args.rules), "bytes": 0, "lines": 0, "valid_calls": 0,
             "broken": 0, "duplicates": 0, "turns": 0, "audio_ms": 0,
             "languages": {"hans": 0, "hant": 0, "en": 0}}
    started = time.monotonic()
    written = 0
    prev_line = None
    n = 0
    with open(tmp, "wb", buffering=1 << 20) as fh:
        while True:
            if target_bytes is not None and written >= target_bytes:
                break
            if args.calls is not None and stats["lines"] >= args.calls:
                break
            n += 1
            record, duration, script = gen.call(n)
            roll = rng.random()
            if prev_line is not None and roll < P_DUPLICATE:
                line = prev_line  # the same record delivered twice
                stats["duplicates"] += 1
            elif roll < P_DUPLICATE + P_BROKEN:
                line = gen.broken(record)
                stats["broken"] += 1
            else:
                line = dumps(record)
                prev_line = line
                stats["valid_calls"] += 1
                stats["turns"] += len(record["turns"])
                stats["audio_ms"] += duration
                stats["languages"][script] += 1
            fh.write(line)
            fh.write(b"\n")
            written += len(line) + 1
            stats["lines"] += 1
            if not args.quiet and stats["lines"] % 50000 == 0:
                print(f"gen_corpus: {stats['lines']} lines, {written / 1e6:.0f} MB, "
                      f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    stats["bytes"] = written
    stats["hours_audio"] = stats["audio_ms"] / 3_600_000
    stats["mean_bytes_per_line"] = written / max(1, stats["lines"])
    stats["mean_turns_per_call"] = stats["turns"] / max(1, stats["valid_calls"])
    stats["generate_seconds"] = round(time.monotonic() - started, 1)
    os.replace(tmp, args.out)
    stats_path = args.out.with_name(args.out.name + ".stats.json")
    stats_path.write_text(json.dumps(stats, indent=2) + "\n")
    if not args.quiet:
        print(f"gen_corpus: wrote {args.out} ({written / 1e6:.1f} MB, {stats['lines']} lines, "
              f"{stats['broken']} broken, {stats['duplicates']} duplicates, "
              f"{stats['hours_audio']:.0f} h of audio) in {stats['generate_seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
