"""Datasets of writing instructions: a synthetic generator, importers, splits and parser accuracy.

* :func:`synthesize` builds a default dataset that needs no download: writing tasks from five
  categories, each with 1 to 5 requirements drawn from every type of the taxonomy, phrased in
  several ways (including phrasings the parser does not know), with gold requirements.
* :func:`import_ifeval`, :func:`import_writingbench` and :func:`import_generic` read public or
  user datasets into one schema and quarantine malformed rows into a rejects table.
* :func:`load_dataset` dispatches on a source name; :func:`assign_splits` adds a stable split;
  :func:`parser_accuracy` scores the parser against gold requirements.

Example:
    >>> table = synthesize(1000, seed=0)
    >>> parsed, _ = parse_dataset(table)
    >>> parser_accuracy(parsed)["overall"]["recall"]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from wrl.io import REJECTS_SCHEMA, DatasetError, RawRows, read_rows, rejects_table

__all__ = [
    "CATEGORIES",
    "SOURCES",
    "assign_splits",
    "import_generic",
    "import_ifeval",
    "import_writingbench",
    "load_dataset",
    "parser_accuracy",
    "synthesize",
]

CATEGORIES = ("creative", "persuasive", "informative", "technical", "communication")
SOURCES = ("synth", "ifeval", "writingbench", "generic")

# --------------------------------------------------------------------------------------------
# Synthetic instructions: vocabulary
# --------------------------------------------------------------------------------------------

# (article, genre noun); the task sentence joins them with a category preposition and a subject.
_EN_GENRES: dict[str, tuple[tuple[str, str], ...]] = {
    "creative": (("a", "short story"), ("a", "poem"), ("a", "fable"), ("a", "limerick"), ("a", "diary entry"),
                 ("a", "song"), ("a", "fairy tale"), ("a", "scene for a play"), ("a", "piece of flash fiction"),
                 ("a", "monologue")),
    "persuasive": (("a", "persuasive essay"), ("an", "op-ed"), ("an", "opinion column"), ("a", "debate speech"),
                   ("a", "letter to the editor"), ("a", "blog post"), ("a", "campaign flyer"),
                   ("a", "short manifesto")),
    "informative": (("an", "explainer"), ("an", "encyclopedia entry"), ("a", "blog post"), ("a", "news feature"),
                    ("a", "study guide"), ("an", "FAQ page"), ("an", "article"), ("a", "fact sheet")),
    "technical": (("a", "README section"), ("a", "user guide"), ("an", "installation guide"),
                  ("a", "troubleshooting guide"), ("", "release notes"), ("a", "design document"),
                  ("a", "tutorial"), ("a", "bug report"), ("an", "FAQ"), ("a", "quick-start guide")),
    "communication": (("an", "email"), ("a", "formal letter"), ("a", "speech"), ("a", "memo"),
                      ("a", "newsletter announcement"), ("a", "message"), ("a", "letter")),
}

_EN_PREP = {"creative": " about ", "persuasive": " arguing that ", "informative": " about ", "technical": " for ",
            "communication": " "}

_EN_SUBJECTS: dict[str, tuple[str, ...]] = {
    "creative": (
        "a lighthouse keeper who finds a message in a bottle", "autumn leaves", "a city at dawn",
        "a robot learning to paint", "the last bookstore in town", "a dragon who is afraid of heights",
        "a summer storm", "two strangers sharing an umbrella", "a forgotten garden",
        "a cat who rules the neighbourhood", "the first snowfall of the year", "a train that never stops",
        "an old violin", "a village without clocks", "a lost mitten", "the moon taking a day off",
        "a midnight bakery", "a letter that arrives fifty years late", "a tree that remembers everything",
        "a sailor's final voyage", "a kite caught in a tree", "grandmother's recipe box", "a haunted bicycle",
        "the sound of rain on a tin roof", "a fox and a crow", "a secret door in the library",
        "a marathon runner's last mile", "a fisherman and a talking fish", "a snowman in spring",
        "a broken compass", "the night market", "a child's first day at school", "an astronaut far from home",
        "a street musician", "a mountain that moves", "a clockmaker's apprentice", "the smell of old books",
        "a lonely whale", "a dream about flying", "a family of owls", "a pair of mismatched socks",
        "a window seat on a long train ride",
    ),
    "persuasive": (
        "cities should plant more trees", "schools should start later in the morning",
        "public libraries deserve more funding", "remote work is here to stay", "homework should be optional",
        "every town needs a repair cafe", "museums should be free to enter", "cycling lanes make streets safer",
        "kids should learn to cook at school", "fast fashion does more harm than good",
        "voting should be compulsory", "zoos still have a role in conservation", "daylight saving time should end",
        "board games beat screen time", "community gardens strengthen neighbourhoods",
        "single-use plastics should be banned", "everyone should learn a second language",
        "public transport should be free", "companies should adopt a four-day week",
        "handwritten letters are worth the effort", "tourism needs limits in historic towns",
        "smartphones do not belong in classrooms", "local newspapers are worth saving",
        "cities should ban cars from their centres", "recycling should be mandatory",
        "sleep deserves more respect", "volunteering should count toward graduation",
        "night skies need protection from light pollution", "breakfast is overrated",
        "pets make offices happier", "buildings should be designed for repair", "taking a gap year is worth it",
        "old buildings should be reused instead of demolished", "rivers should have legal rights",
        "universities should record every lecture", "apprenticeships deserve the same respect as degrees",
        "e-bikes should be subsidised", "shops should close on Sundays", "school uniforms should be abolished",
        "electric scooters need stricter rules",
    ),
    "informative": (
        "the water cycle", "how vaccines train the immune system", "the history of the printing press",
        "how bees make honey", "the causes of inflation", "how solar panels work", "the life cycle of a star",
        "why the sky is blue", "how the internet routes data", "the Great Wall of China", "coral reefs",
        "how sourdough rises", "the rules of chess", "plate tectonics", "the Silk Road",
        "how noise-cancelling headphones work", "the origins of the Olympic Games", "how tides work",
        "the human heart", "volcanoes", "the invention of the telephone", "how airplanes stay in the air",
        "the migration of monarch butterflies", "black holes", "how compost turns into soil",
        "the history of coffee", "photosynthesis", "how elections are counted", "the northern lights",
        "the Roman aqueducts", "how credit scores work", "the deep sea", "how glaciers shape valleys",
        "the history of the bicycle", "how memory works in the brain", "recycling in modern cities",
        "the Amazon rainforest", "how earthquakes are measured", "how vaccines are tested",
        "the history of paper money",
    ),
    "technical": (
        "a command-line tool that renames photos", "a password manager", "a home weather station",
        "a REST API for a bookshop", "a mobile banking app", "a smart thermostat", "an open-source text editor",
        "a library that parses dates", "a backup script for a small office", "a budgeting spreadsheet",
        "a self-hosted photo gallery", "a website contact form", "a plugin that resizes images",
        "a shared team calendar", "a wireless printer", "a continuous integration pipeline",
        "a database migration tool", "a recipe-sharing website", "a fitness tracking watch",
        "a home network router", "an online booking system", "a chat bot for a library", "a file sync service",
        "a video conferencing tool", "a warehouse inventory system", "a school timetable app",
        "a parking sensor", "a music streaming service", "a cloud storage bucket", "a note-taking app",
        "a solar battery system", "a bike-sharing app", "a voice assistant", "an online checkout page",
        "a log analysis script", "a browser extension that blocks trackers", "a smart door lock",
        "a weather data service", "a customer support dashboard", "a code formatter",
    ),
    "communication": (
        "announcing a new recycling program at the office", "thanking volunteers after a charity run",
        "welcoming new members to a hiking club", "asking neighbours to join a street cleanup",
        "inviting colleagues to a farewell lunch", "apologising to customers for a delayed delivery",
        "asking a landlord to repair a broken heater", "informing parents about a school trip",
        "congratulating a team on a successful launch", "requesting a meeting with a city councillor",
        "announcing a change to the office opening hours", "thanking a mentor for years of support",
        "reminding club members about the annual fee", "inviting the community to a library open day",
        "declining a job offer", "asking for feedback on a recent workshop", "introducing a new team member",
        "explaining a price increase to subscribers", "celebrating a colleague's retirement",
        "proposing a partnership to a local bakery", "requesting time off for a family event",
        "informing tenants about planned water outages", "thanking donors for supporting a food bank",
        "announcing the winners of a photo contest", "inviting alumni to a reunion",
        "asking a professor for a recommendation", "welcoming everyone back after the holidays",
        "reporting a lost laptop to the IT desk", "apologising for missing a meeting",
        "encouraging staff to take part in a wellness week", "announcing a new parking policy",
        "thanking a nurse for excellent care", "inviting neighbours to a garden party",
        "requesting a refund for a cancelled flight", "opening a local science fair",
        "accepting an award on behalf of a team", "saying goodbye to a retiring headteacher",
        "asking customers to update their contact details", "welcoming delegates to a conference",
        "announcing the opening of a new clinic",
    ),
}

_EN_VERBS = ("Write", "Write", "Write", "Compose", "Draft", "Create", "Please write", "Could you write",
             "I need you to write", "Prepare", "Craft", "Help me write")

# (measure word, genre noun)
_ZH_GENRES: dict[str, tuple[tuple[str, str], ...]] = {
    "creative": (("篇", "散文"), ("篇", "短篇小说"), ("首", "诗"), ("个", "童话故事"), ("篇", "日记"),
                 ("个", "寓言故事")),
    "persuasive": (("篇", "议论文"), ("份", "倡议书"), ("篇", "演讲稿"), ("篇", "评论文章"), ("篇", "广告文案")),
    "informative": (("篇", "科普文章"), ("篇", "说明文"), ("篇", "新闻报道"), ("个", "百科词条"),
                    ("份", "学习指南")),
    "technical": (("份", "使用说明"), ("份", "安装指南"), ("份", "故障排查指南"), ("份", "产品说明书"),
                  ("份", "技术文档")),
    "communication": (("封", "邮件"), ("封", "信"), ("篇", "致辞"), ("份", "通知"), ("条", "消息")),
}

_ZH_SUBJECTS: dict[str, tuple[str, ...]] = {
    "creative": ("春天的雨", "故乡的老街", "一只迷路的猫", "外婆的厨房", "深夜的便利店", "一封迟到的信",
                 "海边的灯塔", "冬天的第一场雪", "旧书店的老板", "会说话的树", "城市的黄昏", "一次难忘的旅行",
                 "童年的风筝", "山里的小学", "午夜的火车", "老照片里的故事", "一棵老槐树", "雨中的公交站",
                 "月光下的村庄", "爷爷的收音机"),
    "persuasive": ("呼吁大家减少使用塑料袋", "倡导多读纸质书", "支持城市增加自行车道", "呼吁保护城市里的老建筑",
                   "提倡垃圾分类", "主张中小学生每天运动一小时", "呼吁节约粮食", "倡导绿色出行",
                   "支持社区开设图书角", "呼吁关注独居老人", "倡导文明养犬", "呼吁减少熬夜", "支持公园免费开放",
                   "主张学校开设烹饪课", "呼吁保护野生动物", "倡导节约用水", "支持推广电动公交车",
                   "呼吁少用一次性餐具", "倡导邻里互助", "主张博物馆延长开放时间"),
    "informative": ("长城的历史", "蜜蜂如何酿蜜", "二十四节气", "丝绸之路", "火山的形成", "太阳能电池的原理",
                    "大熊猫的生活习性", "茶叶的种类", "地震的成因", "人体的免疫系统", "中国古代的四大发明",
                    "潮汐现象", "北极光", "珊瑚礁", "印刷术的发展", "垃圾焚烧发电", "候鸟迁徙", "黑洞",
                    "热带雨林的生态", "纸币的历史"),
    "technical": ("一款记账软件", "一台家用空气净化器", "一个在线预约系统", "一款密码管理器", "一台智能门锁",
                  "一个照片备份工具", "一款健身手环", "一个团队共享日历", "一台无线打印机", "一个网站联系表单",
                  "一款笔记应用", "一个库存管理系统", "一款天气预报应用", "一台扫地机器人", "一个代码格式化工具",
                  "一款视频会议软件", "一个文件同步服务", "一台家用路由器", "一款翻译插件", "一个网上商城的结账页面"),
    "communication": ("邀请同事参加周末读书会", "感谢志愿者参加公益跑", "通知家长学校组织春游",
                      "向客户道歉发货延迟", "请房东维修坏掉的暖气", "欢迎新成员加入登山社", "祝贺团队产品成功上线",
                      "提醒会员缴纳年费", "邀请邻居参加社区清洁活动", "向导师表达感谢", "宣布办公室开放时间调整",
                      "婉拒一份工作邀请", "介绍新加入的同事", "通知租户计划停水", "感谢捐赠者支持食物银行",
                      "邀请校友参加同学聚会", "申请退还取消航班的费用", "欢迎大家开学返校", "宣布摄影比赛获奖名单",
                      "欢迎嘉宾出席行业会议"),
}

_KEYWORDS_EN = ("lantern", "harvest", "compass", "river", "window", "bridge", "garden", "signal", "ladder", "mirror",
                "anchor", "ribbon", "thunder", "pebble", "meadow", "candle", "orbit", "canvas", "echo", "feather",
                "harbor", "kettle", "marble", "needle", "orchard", "pillow", "rocket", "saddle", "tunnel", "velvet",
                "whistle", "blanket", "circuit", "ember", "granite", "hillside", "island", "lemon", "magnet",
                "notebook", "pencil", "balcony", "compost", "shade", "station", "timeline", "budget", "summit")
_FORBIDDEN_EN = ("very", "really", "amazing", "literally", "basically", "nice", "thing", "stuff", "journey",
                 "unlock", "delve", "game-changer", "synergy", "leverage", "robust", "seamless", "awesome", "simply",
                 "obviously", "great", "innovative", "revolutionary", "cutting-edge", "perfect")
_KEYWORDS_ZH = ("梦想", "阳光", "坚持", "团队", "效率", "温暖", "未来", "创新", "安全", "成长", "合作", "信任", "责任",
                "希望", "细节", "品质", "服务", "环保", "节约", "传统")
_FORBIDDEN_ZH = ("非常", "绝对", "完美", "顶级", "最好", "震撼", "随便", "简直", "超级", "无敌")

_START_EN = ("Once upon a time", "Dear reader", "Here is the plan", "Good news", "Let me be clear", "Picture this",
             "Listen closely", "To whom it may concern", "My friends", "Imagine a world")
_END_EN = ("Is there anything else I can help with?", "Thank you for reading.", "The end.", "See you soon!",
           "Any other thoughts?", "Stay curious.", "That is all for now.", "Let me know what you think.")
_START_ZH = ("亲爱的朋友们", "很久很久以前", "各位同事", "大家好", "你是否想过")
_END_ZH = ("谢谢阅读", "期待您的回复", "让我们一起努力", "未完待续", "祝一切顺利")
_FIRST_WORDS_EN = ("Because", "However", "Meanwhile", "Today", "Imagine", "Finally", "Still", "Now", "Often",
                   "Suddenly")
_FIRST_WORDS_ZH = ("首先", "然而", "因此", "此外", "最后", "其实")
_ORDINALS = ("first", "second", "third")
_ZH_NUMERALS = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
_EN_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                    "twelve")

_COMMON_LETTERS = ("e", "a", "t", "o", "n", "s", "r", "l", "i")
# Upper bounds only on letters no keyword or phrase of the pools holds (a test checks).
_RARE_LETTERS = ("q", "x", "z", "j")

_TONES_EN = ("formal", "humorous", "warm", "optimistic", "playful", "serious", "friendly", "professional",
             "nostalgic", "urgent", "calm", "enthusiastic", "sarcastic", "empathetic", "respectful", "lighthearted",
             "inspirational", "polite but firm", "confident", "gentle")
_TONES_ZH = ("正式", "幽默", "温柔", "轻松", "严肃", "热情", "亲切", "诚恳", "客观", "委婉")
_AUDIENCES_EN = ("beginners", "children", "teenagers", "high school students", "software engineers", "busy parents",
                 "retirees", "first-year university students", "small business owners", "ten-year-olds",
                 "non-experts", "investors", "new employees", "hospital nurses", "tourists", "policymakers",
                 "college students", "young adults")
_AUDIENCES_ZH = ("小学生", "中学生", "大学生", "老年人", "初学者", "家长", "年轻人", "投资者", "游客", "新员工")
_PERSONAS_EN = ("pirate", "retired teacher", "tour guide", "medieval knight", "barista", "detective",
                "startup founder", "park ranger", "grandmother", "robot", "sports commentator", "village doctor",
                "travel journalist", "chef", "lighthouse keeper", "museum curator")
_PERSONAS_ZH = ("老师", "导游", "医生", "历史学家", "老园丁", "产品经理", "记者", "老船长", "客服经理")
# (surface text, normalized style)
_STYLES_EN = (("vivid imagery", "vivid imagery"), ("rhetorical questions", "rhetorical questions"),
              ("short sentences", "short sentences"), ("plain language", "plain language"),
              ("dialogue", "dialogue"), ("metaphors", "metaphors"), ("alliteration", "alliteration"),
              ("similes", "similes"), ("concise language", "concise language"),
              ("sensory details", "sensory details"), ("analogies", "analogies"),
              ("the first person", "first person"), ("the present tense", "present tense"))
_STYLE_ADJ_EN = ("minimalist", "academic", "poetic", "journalistic", "conversational", "lyrical")
_AUTHORS_EN = ("Mark Twain", "Jane Austen", "Ernest Hemingway", "Emily Dickinson", "Edgar Allan Poe",
               "Shakespeare", "Oscar Wilde", "Agatha Christie", "Charles Dickens", "Virginia Woolf")
_STYLES_ZH = ("简洁", "生动", "朴实", "清新", "活泼")
_RHETORIC_ZH = ("比喻", "拟人", "排比")
_TOPICS_EN: dict[str, tuple[str, ...]] = {
    "creative": ("the main character's fear", "a surprising ending", "the setting at night", "a moment of kindness",
                 "the weather", "an old family secret"),
    "persuasive": ("the costs", "the main counterargument", "the long-term benefits", "evidence from recent studies",
                   "the impact on families", "practical next steps"),
    "informative": ("the history", "common misconceptions", "how it works", "why it matters today",
                    "the key figures involved", "recent discoveries"),
    "technical": ("installation steps", "error handling", "configuration options", "known limitations",
                  "security considerations", "performance tips"),
    "communication": ("the timeline", "next steps", "who to contact", "the reason for the change", "the budget",
                      "what happens next"),
}
_TOPICS_ZH = ("历史背景", "主要原因", "未来趋势", "实际影响", "常见误区", "具体做法", "经济成本", "环境影响",
              "发展历程", "个人体会")
_LANGS_EN = (("French", "fr"), ("German", "de"), ("Spanish", "es"), ("Italian", "it"), ("Portuguese", "pt"),
             ("Japanese", "ja"), ("Korean", "ko"), ("Russian", "ru"), ("Hindi", "hi"), ("Arabic", "ar"),
             ("Dutch", "nl"), ("Swedish", "sv"), ("Turkish", "tr"), ("Polish", "pl"), ("Vietnamese", "vi"),
             ("Swahili", "sw"), ("Chinese", "zh"))
_LANGS_ZH = (("英文", "en"), ("英语", "en"), ("法语", "fr"), ("日语", "ja"), ("德语", "de"))
_OPTION_SETS = (("My answer is yes.", "My answer is no.", "My answer is maybe."), ("Yes", "No", "Maybe"),
                ("I agree.", "I disagree."), ("Definitely", "Probably", "Unlikely"))
_OPTION_SETS_ZH = (("是", "否", "不确定"), ("可以", "不可以"), ("同意", "反对", "中立"))
_TITLES = ("my title", "a new dawn", "the plan", "notes from the road", "first light")
_SPLITTERS = ("SECTION", "Section", "PART", "Part")
_WORD_VALUES = (50, 80, 100, 120, 150, 200, 250, 300, 350, 400, 500, 600, 800, 1000, 1200)
_ZH_CHAR_VALUES = (100, 150, 200, 300, 500, 600, 800, 1000, 1500)

# --------------------------------------------------------------------------------------------
# Synthetic instructions: phrasing templates
# --------------------------------------------------------------------------------------------
# Each entry is (template, relations): the template is used for a requirement whose relation is
# one of `relations` (None: any relation, the template then holds a {rel} slot). The parser
# knows some phrasings and not others, on purpose: it must not be measured on its own phrasing.

_T = tuple[str, "tuple[str, ...] | None"]
_EN_TEMPLATES: dict[str, tuple[_T, ...]] = {
    "length/words": (
        ("Use {rel}{n} words", None),
        ("Your response should contain {rel}{n} words", None),
        ("The {noun} must be {rel}{n} words long", None),
        ("Answer with {rel}{n} words", None),
        ("Make it {n} words or more", ("at_least",)),
        ("Aim for {n}+ words", ("at_least",)),
        ("The word count should not exceed {n}", ("at_most",)),
        ("Keep it to {n} words or fewer", ("at_most",)),
        ("Don't go over {n} words", ("at_most",)),
        ("Keep it under {n} words", ("less_than",)),
        ("Stay below {n} words", ("less_than",)),
        ("It should be around {n} words in length", ("about",)),
        ("Use exactly {n} words, no more and no fewer", ("exactly",)),
    ),
    "length/sentences": (
        ("Answer in {rel}{n} sentences", None),
        ("Your response must have {rel}{n} sentences", None),
        ("Use {rel}{n} sentences", None),
        ("The whole text should be {n} sentences long", ("exactly",)),
        ("Limit yourself to {n} sentences", ("at_most",)),
        ("Keep it shorter than {n} sentences", ("less_than",)),
        ("Write no fewer than {n} sentences", ("at_least",)),
    ),
    "length/paragraphs": (
        ("Your answer should have {rel}{n} paragraphs", None),
        ("Organize the text into {rel}{n} paragraphs", None),
        ("Use {rel}{n} paragraphs", None),
        ("There should be {n} paragraphs. Paragraphs are separated with the markdown divider: ***", ("exactly",)),
        ("Split your answer into {n} paragraphs", ("exactly",)),
        ("Structure it as {n} distinct paragraphs", ("exactly",)),
        ("Keep it within {n} paragraphs", ("at_most",)),
        ("Write {n} or more paragraphs", ("at_least",)),
    ),
    "bullet_points": (
        ("Your answer must contain {rel}{n} bullet points", None),
        ("Use {rel}{n} markdown bullet points such as: * This is a point", None),
        ("Include {rel}{n} bullet points", None),
        ("Format the main ideas as a bulleted list with {n} items", ("exactly",)),
        ("Present the key ideas as {n} markdown bullets", ("exactly",)),
        ("Give {n} points as a bullet list", ("exactly",)),
    ),
    "highlighted_sections": (
        ("Highlight {rel}{n} sections in your answer with markdown, i.e. *highlighted section*", None),
        ("Highlight {rel}{n} key phrases using markdown italics", None),
        ("Mark {rel}{n} important parts by wrapping them in *asterisks*", None),
        ("Use markdown to emphasize {rel}{n} passages, e.g. *like this*", None),
    ),
    "sections/splitter": (
        ("Your response must have {n} sections. Mark the beginning of each section with {sp} X", None),
        ("Divide your response into {n} sections, marking the beginning of each with {sp} X", None),
        ("Organize the answer in {n} sections labelled {sp} 1, {sp} 2 and so on", None),
        ("Split it into {n} parts, each introduced by {sp} X", None),
    ),
    "sections/plain": (
        ("Your answer must have {n} sections", None),
        ("Break the text into {n} sections", None),
        ("Arrange the content under {n} separate headings", None),
    ),
    "paragraph_first_word": (
        ("Paragraph {nth} must start with the word {w}", None),
        ("The {ord} paragraph should begin with the word '{w}'", None),
        ("Start the {ord} paragraph with the word \"{w}\"", None),
        ("Make sure the {ord} paragraph opens with \"{w}\"", None),
        ("The {ord} paragraph has to start with {w}", None),
    ),
    "json_format": (
        ("Wrap your entire output in JSON format", None),
        ("Your entire response should be valid JSON", None),
        ("Return the answer as a JSON object", None),
        ("Format everything as JSON; you may use markdown ticks such as ```", None),
        ("Output only a parseable object in JavaScript Object Notation", None),
    ),
    "title": (
        ("Your answer must contain a title, wrapped in double angular brackets, such as <<{t}>>", None),
        ("Include a title in double angular brackets, i.e. <<title>>", None),
        ("Give it a title and put the title between << and >>", None),
        ("Begin with a headline enclosed in double angle brackets", None),
        ("Add a short title", None),
    ),
    "constrained_response": (
        ("Answer with one of the following options: {paren}", None),
        ("Choose your answer from these options: {paren}", None),
        ("Reply with exactly one of {plain}", None),
        ("Your answer must be one of the following: {bracket}", None),
    ),
    "two_responses": (
        (("Give two different responses. Responses and only responses should be separated by 6 asterisk "
          "symbols: ******"), None),
        ("Provide two different answers, separated by six asterisks (******)", None),
        ("Write two versions and separate them with ******", None),
        ("Offer two alternative drafts divided by a line of six asterisks", None),
        ("Respond twice, with the two answers separated by ******", None),
    ),
    "keywords": (
        ("Include the keyword{s} {q}", None),
        ("Include the keyword{s} {u}", None),
        ("Make sure to use the word{s} {u}", None),
        ("Mention {q} somewhere in your answer", None),
        ("Your response must contain the following keyword{s}: {u}", None),
        ("Incorporate the term{s} {q}", None),
        ("Be sure to work in the word{s} {q}", None),
    ),
    "keyword_frequency": (
        ("The word {kq} should appear {rel}{times}", None),
        ("Use the word {k} {rel}{times}", None),
        ("Mention {kq} {rel}{times}", None),
        ("Make sure the term {kq} occurs {rel}{times}", None),
        ("Repeat the keyword {k} {rel}{times}", None),
        ("In your response, the word {k} should appear {rel}{times}", None),
    ),
    "forbidden_words": (
        ("Do not use the word{s} {qor}", None),
        ("Avoid the word{s} {u}", None),
        ("Never say {qor}", None),
        ("The word{s} {q} must not appear in your response", None),
        ("Refrain from using the following word{s}: {u}", None),
        ("Do not include keyword{s} {q} in the response", None),
    ),
    "letter_frequency": (
        ("The letter {l} should appear {rel}{n} times", None),
        ("Use the letter '{l}' {rel}{n} times", None),
        ("Make sure the letter {l} appears {rel}{n} times", None),
        ("Include {rel}{n} instances of the letter '{l}'", None),
        ("In your response, the letter {l} should appear {rel}{n} times", None),
    ),
    "lowercase": (
        ("Your entire response should be in lowercase letters, no capital letters are allowed", None),
        ("Your entire response should be in lowercase letters. No capital letters are allowed", None),
        ("Write everything in lowercase", None),
        ("Use only lowercase letters throughout", None),
        ("Do not use any capital letters", None),
        ("Keep the whole text in small letters", None),
    ),
    "uppercase": (
        ("Your entire response must be in capital letters", None),
        ("Write it in all caps", None),
        ("Use uppercase letters only", None),
        ("Every letter should be capitalized", None),
        ("Respond in upper-case only", None),
    ),
    "capital_word_frequency": (
        ("Use {rel}{n} words in all capital letters", None),
        ("In your response, words with all capital letters should appear {rel}{n} times", None),
        ("Include {rel}{n} fully capitalized words", None),
        ("Include {rel}{n} all-caps words for emphasis", None),
        ("No more than {n} words may be written entirely in uppercase", ("at_most",)),
        ("Capitalize every letter of {rel}{n} words", None),
    ),
    "no_commas": (
        ("Do not use any commas", None),
        ("You are not allowed to use any commas in your response", None),
        ("Refrain from using commas", None),
        ("Your answer must be comma-free", None),
        ("Avoid commas entirely", None),
        ("Punctuate without a single comma", None),
        ("In your entire response, refrain from the use of any commas", None),
    ),
    "quotation": (
        ("Wrap your entire response with double quotation marks", None),
        ("Enclose everything in double quotes", None),
        ("Put your whole answer in double quotation marks", None),
        ("Your response should begin and end with a double quotation mark", None),
        ("Surround the entire reply with quotation marks", None),
    ),
    "response_language": (
        ("Your entire response should be in {L}, no other language is allowed", None),
        ("Respond only in {L}", None),
        ("Please write it in {L}", None),
        ("The answer must be written in {L}", None),
        ("Use {L} for the whole response", None),
        ("Answer in the {L} language", None),
    ),
    "start_phrase": (
        ("Start your response with \"{p}\"", None),
        ("Begin with the exact phrase '{p}'", None),
        ("Open the {noun} with the sentence \"{p}\"", None),
        ("The first words of your response must be \"{p}\"", None),
        ("Kick off your answer with: {p}", None),
    ),
    "end_phrase": (
        ("End your response with \"{p}\"", None),
        ("Finish your response with this exact phrase \"{p}\". No other words should follow this phrase", None),
        ("Conclude with the sentence '{p}'", None),
        ("Close the {noun} with the words \"{p}\"", None),
        ("The last sentence must be \"{p}\"", None),
    ),
    "end_phrase/question": (
        ("End with a question", None),
        ("Finish your response with a question", None),
        ("Make the final sentence a question", None),
    ),
    "postscript": (
        ("At the end of your response, please explicitly add a postscript starting with {m}", None),
        ("Add a postscript starting with {m}", None),
        ("Include a P.S. at the end", ("P.S.",)),
        ("Finish with a short postscript", ("P.S.",)),
        ("Don't forget a P.S. after your sign-off", ("P.S.",)),
    ),
    "placeholders": (
        ("The response must contain {rel}{n} placeholders represented by square brackets, such as [address]", None),
        ("Include {rel}{n} placeholders in square brackets like [name]", None),
        ("Use {rel}{n} bracketed placeholders, e.g. [date]", None),
        ("Leave {rel}{n} blanks in square brackets, such as [name], for the reader to fill in", None),
    ),
    "repeat_prompt": (
        (("First repeat the request word for word without change, then give your answer (1. do not say any words "
          "or characters before repeating the request; 2. the request you need to repeat does not include this "
          "sentence)"), None),
        ("Before answering, repeat the question exactly as written", None),
        ("Repeat the prompt above word for word, then provide your response", None),
        ("Start by restating my request verbatim, then respond", None),
    ),
    "tone": (
        ("Use {a} {t} tone", None),
        ("The tone should be {t}", None),
        ("Keep the tone {t} throughout", None),
        ("Write in {a} {t} and engaging voice", None),
        ("Make it sound {t}", None),
        ("Adopt {a} {t} tone", None),
        ("Maintain {a} {t} tone throughout", None),
    ),
    "audience": (
        ("Write it for {x}", None),
        ("The target audience is {x}", None),
        ("Make it accessible to {x}", None),
        ("Aim it at {x}", None),
        ("Your readers are {x}", None),
        ("Write for an audience of {x}", None),
    ),
    "persona": (
        ("Write as if you were {a} {x}", None),
        ("Adopt the voice of {a} {x}", None),
        ("Take on the persona of {a} {x}", None),
        ("Narrate it from the perspective of {a} {x}", None),
        ("Imagine you are {a} {x}", None),
        ("Speak as {a} {x} would", None),
    ),
    "style/device": (
        ("Use {x}", None),
        ("Write it using {x}", None),
        ("Employ {x} throughout", None),
        ("Make heavy use of {x}", None),
        ("Rely on {x} to carry the piece", None),
    ),
    "style/author": (
        ("Write in the style of {x}", None),
        ("Imitate the style of {x}", None),
        ("It should read like something {x} would write", None),
    ),
    "style/adjective": (
        ("The style should be {x}", None),
        ("Keep the style {x}", None),
        ("Go for a {x} style", None),
    ),
    "content_coverage": (
        ("Cover {x}", None),
        ("Make sure to discuss {x}", None),
        ("Focus on {x}", None),
        ("Touch on {xw}", None),
        ("Your answer should mention {x}", None),
        ("Be sure to explain {x}", None),
        ("Address {x} in your answer", None),
    ),
}

_ZH_TEMPLATES: dict[str, tuple[_T, ...]] = {
    "length/chars": (
        ("字数不少于{n}字", ("at_least",)),
        ("不少于{n}字", ("at_least",)),
        ("字数控制在{n}字以内", ("at_most",)),
        ("篇幅不超过{n}字", ("at_most",)),
        ("全文不要超过{n}个字", ("at_most",)),
        ("全文约{n}字", ("about",)),
        ("字数在{n}字左右", ("about",)),
    ),
    "length/paragraphs": (
        ("分为{n}段", ("exactly",)),
        ("全文写{n}个段落", ("exactly",)),
        ("共{n}段", ("exactly",)),
        ("段落数量为{n}个", ("exactly",)),
    ),
    "length/sentences": (
        ("不超过{n}句话", ("at_most",)),
        ("最多写{n}句话", ("at_most",)),
        ("用{n}句话完成", ("exactly",)),
    ),
    "bullet_points": (
        ("用{n}个要点列出主要内容", None),
        ("列出{n}条要点，使用项目符号", None),
        ("以项目符号形式给出{n}点", None),
    ),
    "highlighted_sections": (
        ("用markdown格式高亮至少{n}个部分，例如*高亮部分*", None),
        ("至少用星号突出显示{n}处重点内容", None),
        ("请用*号标出至少{n}个重点", None),
    ),
    "sections/plain": (
        ("分为{n}个部分", None),
        ("全文分成{n}个章节", None),
        ("由{n}个小节组成", None),
    ),
    "paragraph_first_word": (
        ("第{nth}段要以“{w}”开头", None),
        ("第{nth}段必须以“{w}”一词开头", None),
        ("第{nth}段的第一个词是“{w}”", None),
    ),
    "json_format": (
        ("请以JSON格式输出", None),
        ("整个回答使用JSON格式", None),
        ("输出必须是合法的JSON", None),
    ),
    "title": (
        ("加上一个标题，用<<>>括起来", None),
        ("拟一个标题，格式为<<标题>>", None),
        ("标题放在双尖括号中，例如<<标题>>", None),
    ),
    "constrained_response": (
        ("只能从以下选项中选择一个作答：{paren}", None),
        ("请从以下选项中选一个回答：{paren}", None),
        ("回答必须是以下之一：{plain}", None),
    ),
    "two_responses": (
        ("给出两个不同的回答，用六个星号******分隔", None),
        ("写两个版本，中间用******隔开", None),
        ("提供两种不同的答案，并用******分开", None),
    ),
    "keywords": (
        ("包含关键词{q}", None),
        ("使用以下关键词：{q}", None),
        ("文中要出现{q}{these}", None),
    ),
    "keyword_frequency": (
        ("“{k}”一词至少出现{n}次", ("at_least",)),
        ("“{k}”要出现{n}次以上", ("at_least",)),
        ("“{k}”这个词最多出现{n}次", ("at_most",)),
        ("提到“{k}”不少于{n}次", ("at_least",)),
    ),
    "forbidden_words": (
        ("不要使用{q}{these}", None),
        ("禁止出现{q}", None),
        ("避免提到{q}", None),
        ("文中不能有{q}这样的词", None),
    ),
    "no_commas": (
        ("不要使用逗号", None),
        ("全文不得使用任何逗号", None),
        ("禁止出现逗号", None),
    ),
    "quotation": (
        ("用双引号将整个回答括起来", None),
        ("整个回复要放在双引号中", None),
        ("回答的开头和结尾都要加上双引号", None),
    ),
    "response_language": (
        ("请用{L}回答", None),
        ("用{L}写作", None),
        ("全文使用{L}", None),
        ("回答语言为{L}", None),
    ),
    "start_phrase": (
        ("以“{p}”开头", None),
        ("开头必须是“{p}”", None),
        ("第一句话要写“{p}”", None),
    ),
    "end_phrase": (
        ("以“{p}”结尾", None),
        ("结尾要是“{p}”", None),
        ("最后一句必须是“{p}”", None),
    ),
    "postscript": (
        ("最后加上一段附言", None),
        ("信末添加附注", None),
        ("在结尾附上以P.S.开头的附言", None),
    ),
    "placeholders": (
        ("至少包含{n}个用方括号表示的占位符，例如[地址]", None),
        ("使用至少{n}个方括号占位符，如[姓名]", None),
        ("留出至少{n}个[占位符]供读者填写", None),
    ),
    "repeat_prompt": (
        ("先一字不差地重复这个请求，然后再回答", None),
        ("回答前请原样复述题目", None),
        ("首先完整重复一遍问题，再给出答案", None),
    ),
    "tone": (
        ("语气要{t}", None),
        ("语气应该{t}一些", None),
        ("保持{t}的语气", None),
        ("用{t}的口吻", None),
    ),
    "audience": (
        ("面向{x}", None),
        ("读者是{x}", None),
        ("写给{x}看", None),
        ("适合{x}阅读", None),
        ("让{x}也能看懂", None),
    ),
    "persona": (
        ("以{x}的口吻", None),
        ("站在{x}的角度", None),
        ("假装你是一名{x}", None),
    ),
    "style/adjective": (
        ("风格要{x}", None),
        ("文风{x}一些", None),
    ),
    "style/device": (
        ("运用{x}的修辞手法", None),
        ("多用{x}", None),
    ),
    "content_coverage": (
        ("涵盖{x}等方面", None),
        ("内容要涉及{x}等内容", None),
        ("重点谈谈{x}", None),
    ),
}

# Relation phrases ("" where the parser's default reading of a bare count is that relation).
_REL_EN: dict[str, dict[str, tuple[str, ...]]] = {
    "words": {"at_least": ("at least ", "no less than ", "a minimum of "),
              "at_most": ("at most ", "no more than ", "a maximum of ", "up to "),
              "less_than": ("less than ", "fewer than ", "under "), "more_than": ("more than ", "over "),
              "about": ("about ", "around ", "approximately ", "roughly ", ""), "exactly": ("exactly ",)},
    "count": {"at_least": ("at least ", "no less than "), "at_most": ("at most ", "no more than "),
              "less_than": ("less than ", "fewer than "), "more_than": ("more than ",), "exactly": ("exactly ",)},
}

# The relations each counted type is drawn with, and the parser's reading of a bare count.
_TYPE_RELATIONS = {
    "bullet_points": (("exactly", "exactly", "at_least", "at_most"), "exactly"),
    "highlighted_sections": (("at_least", "at_least", "exactly"), "at_least"),
    "placeholders": (("at_least", "at_least", "exactly"), "at_least"),
    "capital_word_frequency": (("at_least", "at_most", "less_than"), None),
    "keyword_frequency": (("at_least", "at_least", "at_most", "less_than", "exactly"), None),
    "letter_frequency": (("at_least", "at_least", "less_than", "at_most"), None),
    "length/sentences": (("exactly", "exactly", "at_least", "at_most", "less_than"), "exactly"),
    "length/paragraphs": (("exactly", "exactly", "exactly", "at_least", "at_most"), "exactly"),
    "length/words": (("at_least", "at_least", "at_most", "less_than", "more_than", "about", "exactly"), "about"),
    "postscript": (("P.S.", "P.P.S"), None),  # keyed by marker: some phrasings imply P.S.
}


def _by_relation(templates: dict[str, tuple[_T, ...]]) -> dict[str, dict[str | None, tuple]]:
    """Template key → relation → ((index, template), ...): the templates usable for that relation."""
    out: dict[str, dict[str | None, tuple]] = {}
    for key, entries in templates.items():
        rels: set[str | None] = {None}
        for _, allowed in entries:
            rels.update(allowed or ())
        rels.update(_TYPE_RELATIONS.get(key, ((),))[0])
        out[key] = {rel: tuple((i, t) for i, (t, allowed) in enumerate(entries)
                               if allowed is None or rel in allowed)
                    for rel in rels}
    return out


_EN_BY_REL = _by_relation(_EN_TEMPLATES)
_ZH_BY_REL = _by_relation(_ZH_TEMPLATES)

# --------------------------------------------------------------------------------------------
# Synthetic instructions: which requirement types can go together
# --------------------------------------------------------------------------------------------

_EN_TYPES = ("length", "bullet_points", "highlighted_sections", "sections", "paragraph_first_word", "json_format",
             "title", "constrained_response", "two_responses", "keywords", "keyword_frequency", "forbidden_words",
             "letter_frequency", "lowercase", "uppercase", "capital_word_frequency", "no_commas", "quotation",
             "response_language", "start_phrase", "end_phrase", "postscript", "placeholders", "repeat_prompt",
             "tone", "audience", "persona", "style", "content_coverage")
# Case and letter counts make no sense for a Chinese response.
_ZH_TYPES = tuple(t for t in _EN_TYPES
                  if t not in ("letter_frequency", "lowercase", "uppercase", "capital_word_frequency"))

_CONFLICT_PAIRS = {
    "json_format": ("bullet_points", "highlighted_sections", "sections", "paragraph_first_word", "title",
                    "two_responses", "quotation", "start_phrase", "end_phrase", "postscript", "repeat_prompt",
                    "no_commas", "uppercase"),
    "two_responses": ("quotation", "repeat_prompt", "start_phrase", "end_phrase", "postscript",
                      "paragraph_first_word"),
    "quotation": ("start_phrase", "end_phrase", "repeat_prompt"),
    "repeat_prompt": ("forbidden_words", "keyword_frequency", "letter_frequency", "capital_word_frequency",
                      "no_commas", "lowercase", "uppercase", "start_phrase", "paragraph_first_word"),
    "title": ("start_phrase", "paragraph_first_word"),
    "postscript": ("end_phrase", "lowercase"),
    "paragraph_first_word": ("start_phrase", "lowercase", "uppercase", "quotation"),
    "start_phrase": ("lowercase", "uppercase"),
    "end_phrase": ("lowercase", "uppercase"),
    "lowercase": ("uppercase", "capital_word_frequency", "sections"),
    "uppercase": ("capital_word_frequency", "sections"),  # a "Section X" splitter is not all caps
}
# A response in another language than the instruction cannot hold its keywords and phrases.
_FOREIGN_CONFLICTS = frozenset({"keywords", "keyword_frequency", "start_phrase", "end_phrase",
                                "paragraph_first_word", "repeat_prompt", "letter_frequency", "lowercase", "uppercase",
                                "capital_word_frequency", "constrained_response"})


def _conflicts() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {t: {t} for t in _EN_TYPES}
    for a, others in _CONFLICT_PAIRS.items():
        for b in others:
            table[a].add(b)
            table[b].add(a)
    # A constrained answer is a fixed option: nothing else can be asked of it.
    for t in _EN_TYPES:
        table[t].add("constrained_response")
    table["constrained_response"] = set(_EN_TYPES)
    return {t: frozenset(s) for t, s in table.items()}


_CONFLICTS = _conflicts()
_N_REQUIREMENTS = (1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5)

# --------------------------------------------------------------------------------------------
# Synthetic instructions: generation
# --------------------------------------------------------------------------------------------


class _Row:
    """What one requirement's generator needs to know about its instruction."""

    __slots__ = ("category", "foreign", "json", "keywords", "max_nth", "noun", "rnd", "units", "zh")

    def __init__(self, rnd: Callable[[], float], zh: bool, category: str, noun: str):
        self.rnd = rnd
        self.zh = zh
        self.category = category
        self.noun = noun
        self.foreign = False
        self.json = False
        self.units: list[str] = []
        self.max_nth = 3
        self.keywords: set[str] = set()

    def pick(self, seq):
        return seq[int(self.rnd() * len(seq))]

    def render(self, key: str, rel: str | None, values: dict[str, Any]) -> tuple[str, int]:
        cands = (_ZH_BY_REL if self.zh else _EN_BY_REL)[key][rel]
        i, tpl = cands[int(self.rnd() * len(cands))]
        return tpl.format(**values), i


def _num_en(row: _Row, n: int) -> str:
    """A count as digits, or as a word for small numbers now and then."""
    if n <= 12 and row.rnd() < 0.3:
        return _EN_NUMBER_WORDS[n]
    if n >= 1000 and row.rnd() < 0.5:
        return f"{n:,}"
    return str(n)


def _num_zh(row: _Row, n: int, ordinal: bool = False) -> str:
    """A count as digits or Chinese numerals ("两个" for a count of 2, "第二段" for an ordinal)."""
    if n <= 10 and row.rnd() < 0.3:
        return "两" if n == 2 and not ordinal else _ZH_NUMERALS[n]
    return str(n)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _en_list(row: _Row, items: list[str], quoted: bool, conj: str = "and") -> str:
    if quoted:
        q = row.pick(("'", '"'))
        items = [f"{q}{w}{q}" for w in items]
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conj} {items[1]}"
    comma = "," if row.rnd() < 0.5 else ""
    return f"{', '.join(items[:-1])}{comma} {conj} {items[-1]}"


def _zh_quoted(row: _Row, items: list[str]) -> str:
    quoted = [f"“{w}”" for w in items]
    if len(quoted) == 1:
        return quoted[0]
    return "、".join(quoted[:-1]) + row.pick(("和", "、")) + quoted[-1]


def _draw(row: _Row, pool: tuple[str, ...], k: int, avoid: set[str] | frozenset[str] = frozenset()) -> list[str]:
    out: list[str] = []
    while len(out) < k:
        w = pool[int(row.rnd() * len(pool))]
        if w not in out and w not in avoid:
            out.append(w)
    return out


def _relation(row: _Row, key: str) -> str:
    return row.pick(_TYPE_RELATIONS[key][0])


def _rel_phrase(row: _Row, kind: str, rel: str, default: str | None) -> str:
    phrases = _REL_EN[kind][rel]
    if rel == default and row.rnd() < 0.5:
        return ""
    return row.pick(phrases)


# Each generator returns (params, text, template key, template index).
def _g_length(row: _Row) -> tuple[dict, str, str, int]:
    if row.zh:
        choices = [u for u in ("chars", "chars", "paragraphs", "sentences") if u not in row.units]
        if row.units:  # a second length never bounds characters against sentences or paragraphs twice
            choices = [u for u in choices if u != "chars"] if "chars" in row.units else ["chars"]
        if row.json:
            choices = ["chars"] if "chars" not in row.units else []
        unit = row.pick(choices)
        row.units.append(unit)
        key = "length/" + unit
        if unit == "chars":
            rel = row.pick(("at_least", "at_least", "at_most", "about"))
            n = row.pick(_ZH_CHAR_VALUES)
            text, i = row.render(key, rel, {"n": n})
        elif unit == "paragraphs":
            rel, n = "exactly", 2 + int(row.rnd() * 5)
            row.max_nth = min(row.max_nth, n)
            text, i = row.render(key, rel, {"n": _num_zh(row, n)})
        else:
            rel = row.pick(("at_most", "at_most", "exactly"))
            n = 3 + int(row.rnd() * 8)
            text, i = row.render(key, rel, {"n": _num_zh(row, n)})
        return {"unit": unit, "relation": rel, "value": n}, text, key, i
    if row.units:
        unit = "words" if row.units[0] != "words" else row.pick(("sentences", "paragraphs"))
    elif row.json:
        unit = "words"
    else:
        unit = row.pick(("words", "words", "sentences", "paragraphs"))
    row.units.append(unit)
    key = "length/" + unit
    rel = _relation(row, key)
    default = _TYPE_RELATIONS[key][1]
    if unit == "words":
        n = row.pick(_WORD_VALUES)
        if len(row.units) == 2 and rel in ("at_most", "less_than", "exactly"):
            n = max(n, 300)
        kind = "words"
    elif unit == "sentences":
        n = 3 + int(row.rnd() * 10)
        kind = "count"
    else:
        n = 2 + int(row.rnd() * 5)
        kind = "count"
        row.max_nth = min(row.max_nth, n - 1 if rel == "less_than" else n)
    values = {"n": _num_en(row, n) if unit != "words" else (f"{n:,}" if n >= 1000 and row.rnd() < 0.5 else str(n)),
              "rel": _rel_phrase(row, kind, rel, default), "noun": row.noun}
    text, i = row.render(key, rel, values)
    return {"unit": unit, "relation": rel, "value": n}, text, key, i


def _g_counted(name: str, lo: int, hi: int) -> Callable[[_Row], tuple[dict, str, str, int]]:
    def gen(row: _Row) -> tuple[dict, str, str, int]:
        n = lo + int(row.rnd() * (hi - lo + 1))
        if row.zh:
            rel = _TYPE_RELATIONS[name][1] if name in _TYPE_RELATIONS else "at_least"
            text, i = row.render(name, None, {"n": _num_zh(row, n)})
            return {"relation": rel, "value": n}, text, name, i
        rel = _relation(row, name)
        values = {"n": _num_en(row, n), "rel": _rel_phrase(row, "count", rel, _TYPE_RELATIONS[name][1])}
        text, i = row.render(name, rel, values)
        return {"relation": rel, "value": n}, text, name, i
    return gen


def _g_sections(row: _Row) -> tuple[dict, str, str, int]:
    n = 2 + int(row.rnd() * 4)
    if row.zh or row.rnd() < 0.3:
        key = "sections/plain"
        text, i = row.render(key, None, {"n": _num_zh(row, n) if row.zh else _num_en(row, n)})
        return {"value": n}, text, key, i
    sp = row.pick(_SPLITTERS)
    key = "sections/splitter"
    text, i = row.render(key, None, {"n": _num_en(row, n), "sp": sp})
    return {"splitter": sp, "value": n}, text, key, i


def _g_paragraph_first_word(row: _Row) -> tuple[dict, str, str, int]:
    nth = 1 + int(row.rnd() * row.max_nth)
    if row.zh:
        w = row.pick(_FIRST_WORDS_ZH)
        text, i = row.render("paragraph_first_word", None, {"nth": _num_zh(row, nth, ordinal=True), "w": w})
    else:
        w = row.pick(_FIRST_WORDS_EN)
        text, i = row.render("paragraph_first_word", None, {"nth": nth, "ord": _ORDINALS[nth - 1], "w": w})
    return {"first_word": w, "nth": nth}, text, "paragraph_first_word", i


def _g_fixed(name: str) -> Callable[[_Row], tuple[dict, str, str, int]]:
    def gen(row: _Row) -> tuple[dict, str, str, int]:
        text, i = row.render(name, None, {"t": row.pick(_TITLES)})
        return {}, text, name, i
    return gen


def _g_constrained(row: _Row) -> tuple[dict, str, str, int]:
    options = list(row.pick(_OPTION_SETS_ZH if row.zh else _OPTION_SETS))
    if row.zh:
        values = {"paren": "（" + "、".join(f"“{o}”" for o in options) + "）", "plain": _zh_quoted(row, options)}
    else:
        values = {"paren": "(" + ", ".join(f"'{o}'" for o in options) + ")",
                  "bracket": "[" + ", ".join(f'"{o}"' for o in options) + "]",
                  "plain": _en_list(row, options, True, "or")}
    text, i = row.render("constrained_response", None, values)
    return {"options": options}, text, "constrained_response", i


def _g_keywords(row: _Row) -> tuple[dict, str, str, int]:
    k = row.pick((1, 2, 2, 2, 3))
    words = _draw(row, _KEYWORDS_ZH if row.zh else _KEYWORDS_EN, k)
    row.keywords.update(words)
    if row.zh:
        values = {"q": _zh_quoted(row, words), "these": "这几个词" if k > 1 else "这个词"}
        text, i = row.render("keywords", None, values)
    else:
        values = {"q": _en_list(row, words, True), "u": _en_list(row, words, False), "s": "s" if k > 1 else ""}
        text, i = row.render("keywords", None, values)
    return {"keywords": words}, text, "keywords", i


def _g_keyword_frequency(row: _Row) -> tuple[dict, str, str, int]:
    k = _draw(row, _KEYWORDS_ZH if row.zh else _KEYWORDS_EN, 1, row.keywords)[0]
    n = 2 + int(row.rnd() * 4)
    if row.zh:
        rel = row.pick(("at_least", "at_least", "at_most"))
        text, i = row.render("keyword_frequency", rel, {"k": k, "n": _num_zh(row, n)})
        return {"keyword": k, "relation": rel, "value": n}, text, "keyword_frequency", i
    rel = _relation(row, "keyword_frequency")
    if n == 2 and row.rnd() < 0.25:
        times = "twice"
    else:
        times = _num_en(row, n) + " times"
    q = row.pick(("'", '"'))
    values = {"k": k, "kq": f"{q}{k}{q}", "rel": _rel_phrase(row, "count", rel, None), "times": times}
    text, i = row.render("keyword_frequency", rel, values)
    return {"keyword": k, "relation": rel, "value": n}, text, "keyword_frequency", i


def _g_forbidden(row: _Row) -> tuple[dict, str, str, int]:
    k = row.pick((1, 1, 2, 2, 3))
    words = _draw(row, _FORBIDDEN_ZH if row.zh else _FORBIDDEN_EN, k)
    if row.zh:
        values = {"q": _zh_quoted(row, words), "these": "这些词" if k > 1 else "这个词"}
        text, i = row.render("forbidden_words", None, values)
    else:
        values = {"q": _en_list(row, words, True), "qor": _en_list(row, words, True, "or"),
                  "u": _en_list(row, words, False), "s": "s" if k > 1 else ""}
        text, i = row.render("forbidden_words", None, values)
    return {"words": words}, text, "forbidden_words", i


def _g_letter(row: _Row) -> tuple[dict, str, str, int]:
    rel = _relation(row, "letter_frequency")
    if rel == "at_least":
        letter, n = row.pick(_COMMON_LETTERS), 5 + int(row.rnd() * 16)
    else:
        letter, n = row.pick(_RARE_LETTERS), 2 + int(row.rnd() * 5)
    values = {"l": letter, "n": _num_en(row, n), "rel": _rel_phrase(row, "count", rel, None)}
    text, i = row.render("letter_frequency", rel, values)
    return {"letter": letter, "relation": rel, "value": n}, text, "letter_frequency", i


def _g_language(row: _Row) -> tuple[dict, str, str, int]:
    if row.zh:
        name, code = row.pick(_LANGS_ZH) if row.foreign else ("中文", "zh")
    elif row.foreign:
        name, code = row.pick(_LANGS_EN)
    else:
        name, code = "English", "en"
    text, i = row.render("response_language", None, {"L": name})
    return {"language": code}, text, "response_language", i


def _g_phrase(name: str) -> Callable[[_Row], tuple[dict, str, str, int]]:
    def gen(row: _Row) -> tuple[dict, str, str, int]:
        if name == "end_phrase" and not row.zh and row.rnd() < 0.15:
            key = "end_phrase/question"
            text, i = row.render(key, None, {})
            return {"phrase": "?"}, text, key, i
        if row.zh:
            pool = _START_ZH if name == "start_phrase" else _END_ZH
        else:
            pool = _START_EN if name == "start_phrase" else _END_EN
        p = row.pick(pool)
        text, i = row.render(name, None, {"p": p, "noun": row.noun})
        return {"phrase": p}, text, name, i
    return gen


def _g_postscript(row: _Row) -> tuple[dict, str, str, int]:
    marker = "P.S." if row.zh or row.rnd() < 0.75 else "P.P.S"
    text, i = row.render("postscript", marker, {"m": marker})
    return {"marker": marker}, text, "postscript", i


def _g_tone(row: _Row) -> tuple[dict, str, str, int]:
    t = row.pick(_TONES_ZH if row.zh else _TONES_EN)
    text, i = row.render("tone", None, {"t": t, "a": _article(t)})
    return {"tone": t}, text, "tone", i


def _g_audience(row: _Row) -> tuple[dict, str, str, int]:
    x = row.pick(_AUDIENCES_ZH if row.zh else _AUDIENCES_EN)
    text, i = row.render("audience", None, {"x": x})
    return {"audience": x}, text, "audience", i


def _g_persona(row: _Row) -> tuple[dict, str, str, int]:
    x = row.pick(_PERSONAS_ZH if row.zh else _PERSONAS_EN)
    text, i = row.render("persona", None, {"x": x, "a": _article(x)})
    return {"persona": x}, text, "persona", i


def _g_style(row: _Row) -> tuple[dict, str, str, int]:
    if row.zh:
        if row.rnd() < 0.5:
            x = gold = row.pick(_STYLES_ZH)
            key = "style/adjective"
        else:
            x = gold = row.pick(_RHETORIC_ZH)
            key = "style/device"
    else:
        u = row.rnd()
        if u < 0.6:
            x, gold = row.pick(_STYLES_EN)
            key = "style/device"
        elif u < 0.85:
            x = gold = row.pick(_AUTHORS_EN)
            key = "style/author"
        else:
            x = gold = row.pick(_STYLE_ADJ_EN)
            key = "style/adjective"
    text, i = row.render(key, None, {"x": x})
    return {"style": gold}, text, key, i


def _strip_the(s: str) -> str:
    return s.removeprefix("the ")


def _g_coverage(row: _Row) -> tuple[dict, str, str, int]:
    k = row.pick((1, 2, 2, 2, 3))
    if row.zh:
        topics = _draw(row, _TOPICS_ZH, k)
        joined = topics[0] if k == 1 else "、".join(topics[:-1]) + row.pick(("和", "与", "、")) + topics[-1]
        text, i = row.render("content_coverage", None, {"x": joined})
        return {"topics": topics}, text, "content_coverage", i
    topics = _draw(row, _TOPICS_EN[row.category], k)
    values = {"x": _en_list(row, topics, False), "xw": " as well as ".join(topics)}
    text, i = row.render("content_coverage", None, values)
    return {"topics": [_strip_the(t) for t in topics]}, text, "content_coverage", i


_GENERATORS: dict[str, Callable[[_Row], tuple[dict, str, str, int]]] = {
    "length": _g_length,
    "bullet_points": _g_counted("bullet_points", 2, 7),
    "highlighted_sections": _g_counted("highlighted_sections", 2, 5),
    "sections": _g_sections,
    "paragraph_first_word": _g_paragraph_first_word,
    "json_format": _g_fixed("json_format"),
    "title": _g_fixed("title"),
    "constrained_response": _g_constrained,
    "two_responses": _g_fixed("two_responses"),
    "keywords": _g_keywords,
    "keyword_frequency": _g_keyword_frequency,
    "forbidden_words": _g_forbidden,
    "letter_frequency": _g_letter,
    "lowercase": _g_fixed("lowercase"),
    "uppercase": _g_fixed("uppercase"),
    "capital_word_frequency": _g_counted("capital_word_frequency", 2, 10),
    "no_commas": _g_fixed("no_commas"),
    "quotation": _g_fixed("quotation"),
    "response_language": _g_language,
    "start_phrase": _g_phrase("start_phrase"),
    "end_phrase": _g_phrase("end_phrase"),
    "postscript": _g_postscript,
    "placeholders": _g_counted("placeholders", 2, 6),
    "repeat_prompt": _g_fixed("repeat_prompt"),
    "tone": _g_tone,
    "audience": _g_audience,
    "persona": _g_persona,
    "style": _g_style,
    "content_coverage": _g_coverage,
}


def _choose_types(row: _Row, pool: tuple[str, ...], k: int) -> list[str]:
    """Draw up to ``k`` compatible requirement types (length may come twice, on different units)."""
    rnd = row.rnd
    chosen: list[str] = []
    blocked: set[str] = set()
    for _ in range(3 * k + 3):
        if len(chosen) >= k:
            break
        t = pool[int(rnd() * len(pool))]
        if t in blocked:
            if t == "length" and chosen.count("length") == 1 and not row.json and rnd() < 0.3:
                chosen.append(t)
            continue
        if t == "response_language":
            row.foreign = rnd() < 0.75 and not _FOREIGN_CONFLICTS.intersection(chosen)
            if row.foreign:
                blocked |= _FOREIGN_CONFLICTS
        elif t == "json_format":
            if chosen.count("length") > 1:
                continue
            row.json = True
        chosen.append(t)
        blocked |= _CONFLICTS[t]
        if t == "constrained_response":
            break
    return chosen


def _lc_first(s: str) -> str:
    """Lowercase the first letter of a clause joined to another, unless it starts an acronym."""
    return s[0].lower() + s[1:] if len(s) > 1 and s[1].islower() else s


def _end(s: str) -> str:
    return s if s[-1] in ".?!" else s + "."


def _en_task(row: _Row, category: str, genre: tuple[str, str], subject: str, embed: str | None,
             question: bool) -> str:
    art, noun = genre
    prep = _EN_PREP[category]
    if question:
        head = f"{art} {noun}" if art else noun
        return f"Would {head}{prep}{subject} work well in a school newsletter?"
    verb = row.pick(_EN_VERBS)
    head = f"{art} {noun}" if art else noun
    if embed is not None and embed.startswith("@"):  # "a 300-word poem"
        head = f"{embed[1:]} {noun}"
        embed = None
    task = f"{verb} {head}{prep}{subject}"
    if embed:
        task += " " + embed
    return task + ("?" if verb.startswith("Could") else "")


def _embed_length(row: _Row) -> tuple[dict, str]:
    n = row.pick(_WORD_VALUES[:12])
    if row.rnd() < 0.5:
        return {"unit": "words", "relation": "about", "value": n}, f"@{'an' if str(n)[0] == '8' else 'a'} {n}-word"
    rel = row.pick(("at_least", "at_most", "less_than"))
    return {"unit": "words", "relation": rel, "value": n}, f"in {row.pick(_REL_EN['words'][rel])}{n} words"


def _render_en(row: _Row, category: str, genre: tuple[str, str], subject: str,
               reqs: list[tuple[str, dict, str]]) -> tuple[str, list[tuple[str, dict]]]:
    """Assemble one English instruction; returns the prompt and the gold in text order."""
    rnd = row.rnd
    question = bool(reqs) and reqs[0][0] == "constrained_response"
    embed = None
    gold: list[tuple[str, dict]] = []
    if not question and rnd() < 0.25:
        for j, (t, params, _) in enumerate(reqs):
            if t == "length" and params["unit"] == "words" and len(row.units) == 1:
                params, embed = _embed_length(row)
                if genre[0] == "" and embed.startswith("@"):
                    embed = f"of {params['value']} words"
                    params = dict(params, relation="about")
                reqs = reqs[:j] + reqs[j + 1:]
                gold.append(("length", params))
                break
            if t == "response_language":
                name, code = row.pick(_LANGS_EN) if row.foreign else ("English", "en")
                embed = f"in {name}"
                reqs = reqs[:j] + reqs[j + 1:]
                gold.append(("response_language", {"language": code}))
                break
    task = _en_task(row, category, genre, subject, embed, question)
    gold.extend((t, p) for t, p, _ in reqs)
    texts = [s for _, _, s in reqs]
    if not texts:
        return _end(task), gold
    u = rnd()
    if len(texts) == 1 or u < 0.45:
        if u < 0.15 and not task.endswith("?"):
            return f"{task}, and {_lc_first(_end(texts[0]))}" + "".join(" " + _end(s) for s in texts[1:]), gold
        return _end(task) + "".join(" " + _end(s) for s in texts), gold
    if u < 0.75:
        parts = [texts[:3], texts[3:]] if len(texts) > 3 else [texts]
        sentences = []
        for group in parts:
            if not group:
                continue
            head = [group[0]] + [_lc_first(s) for s in group[1:]]
            if len(head) == 1:
                sentences.append(_end(head[0]))
            elif len(head) == 2:
                sentences.append(_end(head[0] + row.pick((", and ", " and ", "; ")) + head[1]))
            else:
                sentences.append(_end(", ".join(head[:-1]) + row.pick((", and ", " and ")) + head[-1]))
        return _end(task) + " " + " ".join(sentences), gold
    style = int(rnd() * 3)
    if style == 0 and not task.endswith("?"):
        body = "\n".join(f"{i}. {_end(s)}" for i, s in enumerate(texts, 1))
        return f"{task} with the following requirements:\n{body}", gold
    if style == 1:
        body = "\n".join(f"- {_end(s)}" for s in texts)
        return f"{_end(task)} Follow these rules:\n{body}", gold
    body = "\n".join(f"{i}) {_end(s)}" for i, s in enumerate(texts, 1))
    return f"{_end(task)}\n\nConstraints:\n{body}", gold


def _render_zh(row: _Row, category: str, genre: tuple[str, str], subject: str,
               reqs: list[tuple[str, dict, str]]) -> tuple[str, list[tuple[str, dict]]]:
    measure, noun = genre
    gold = [(t, p) for t, p, _ in reqs]
    texts = [s for _, _, s in reqs]
    if reqs and reqs[0][0] == "constrained_response":
        return f"一{measure}关于{subject}的{noun}适合发表在校刊上吗？{texts[0]}。", gold
    verb = row.pick(("写", "写", "请写", "帮我写", "撰写"))
    if category == "creative":
        task = f"{verb}一{measure}关于{subject}的{noun}"
    elif category == "informative":
        task = f"{verb}一{measure}介绍{subject}的{noun}"
    elif category == "technical":
        task = f"为{subject}写一{measure}{noun}"
    else:  # persuasive claims and communication purposes are verb phrases
        task = f"{verb}一{measure}{subject}的{noun}"
    if not texts:
        return task + "。", gold
    u = row.rnd()
    if len(texts) == 1 or u < 0.4:
        return task + "。" + "".join(s + "。" for s in texts), gold
    if u < 0.75:
        return task + "，" + "，".join(texts) + "。", gold
    intro = row.pick(("，要求如下：\n", "。具体要求：\n"))
    return task + intro + "\n".join(f"{i}. {s}。" for i, s in enumerate(texts, 1)), gold


def _base_seed(seed: int) -> int:
    """A 64-bit stream seed from the user's seed (any int, negative included)."""
    return int.from_bytes(hashlib.blake2b(str(int(seed)).encode(), digest_size=8).digest(), "big")


def _gold_encoder() -> Callable[[Any], str]:
    """Compact, key-sorted JSON; the C encoder directly where it exists (twice as fast)."""
    from json import encoder

    if encoder.c_make_encoder is not None:
        enc = encoder.c_make_encoder(None, None, encoder.encode_basestring, None, ":", ",", True, False, True)
        return lambda obj: "".join(enc(obj, 0))
    return json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


_GOLD_DUMP = _gold_encoder()

# Rows are drawn in blocks: one random.Random per block, seeded from (seed, block number).
# Seeding a Mersenne Twister costs as much as drawing a whole row, so per-row seeding would
# double the run time; a chunk starting inside a block replays the block's earlier rows.
SYNTH_BLOCK = 256


def _generate(n: int, seed: int, zh_share: float, start: int, trace: list | None = None) -> dict[str, list]:
    """The synth columns for rows ``start .. start+n``; row ``i`` depends only on ``seed`` and ``i``."""
    base = _base_seed(seed) << 40
    rng = random.Random()
    rnd = rng.random
    prompts: list[str] = []
    categories: list[str] = []
    topics: list[str] = []
    languages: list[str] = []
    golds: list[str] = []
    n_cat = len(CATEGORIES)
    first = start - start % SYNTH_BLOCK
    for index in range(first, start + n):
        if index % SYNTH_BLOCK == 0:
            rng.seed(base | (index // SYNTH_BLOCK))
        zh = rnd() < zh_share
        category = CATEGORIES[int(rnd() * n_cat)]
        genres = (_ZH_GENRES if zh else _EN_GENRES)[category]
        genre = genres[int(rnd() * len(genres))]
        subjects = (_ZH_SUBJECTS if zh else _EN_SUBJECTS)[category]
        subject = subjects[int(rnd() * len(subjects))]
        row = _Row(rnd, zh, category, genre[1])
        k = _N_REQUIREMENTS[int(rnd() * len(_N_REQUIREMENTS))]
        chosen = _choose_types(row, _ZH_TYPES if zh else _EN_TYPES, k)
        # Lengths first: a paragraph count bounds which paragraph can be asked to start with a word.
        if "length" in chosen and chosen[0] != "length":
            order = [j for j, t in enumerate(chosen) if t == "length"] + [j for j, t in enumerate(chosen)
                                                                            if t != "length"]
        else:
            order = range(len(chosen))
        made: list[Any] = [None] * len(chosen)
        for j in order:
            params, text, key, tpl = _GENERATORS[chosen[j]](row)
            made[j] = (chosen[j], params, text)
            if trace is not None and index >= start:
                trace.append((index, chosen[j], key, tpl, "zh" if zh else "en"))
        if zh:
            prompt, gold = _render_zh(row, category, genre, subject, made)
        else:
            prompt, gold = _render_en(row, category, genre, subject, made)
        if index < start:
            continue
        prompts.append(prompt)
        categories.append(category)
        topics.append(subject)
        languages.append("zh" if zh else "en")
        golds.append(_GOLD_DUMP([{"type": t, "params": p} for t, p in gold]))
    return {"prompt": prompts, "category": categories, "topic": topics, "language": languages, "gold": golds}


SYNTH_SCHEMA = pa.schema([
    ("id", pa.string()), ("prompt", pa.string()), ("category", pa.string()), ("topic", pa.string()),
    ("language", pa.string()), ("gold_requirements", pa.string()), ("source", pa.string()),
])


def synthesize(n: int, *, seed: int = 0, zh_share: float = 0.15, start: int = 0) -> pa.Table:
    """Synthesize ``n`` writing instructions with gold requirements; no download needed.

    Row ``i`` depends only on ``seed`` and its index, so ``synthesize(n, start=s)`` is exactly rows
    ``s .. s+n`` of a larger run: generation can be chunked or spread over processes. Randomness
    comes from one ``random.Random`` per block of ``SYNTH_BLOCK`` rows, seeded from the seed and
    the block number (Python's Mersenne Twister: the same on every platform).

    Args:
        n: number of instructions.
        seed: any integer; the same seed gives the same table on every machine.
        zh_share: expected share of Chinese instructions, from 0 to 1.
        start: index of the first row (ids count from ``start + 1``).

    Returns:
        A table with columns ``id`` ("syn-0000001"), ``prompt``, ``category``, ``topic``,
        ``language`` ("en"/"zh"), ``gold_requirements`` (compact JSON list of ``{"params", "type"}``
        with params normalized as the parser writes them) and ``source`` ("synth").

    Example:
        >>> synthesize(2, seed=1).column_names
        ['id', 'prompt', 'category', 'topic', 'language', 'gold_requirements', 'source']
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if not 0.0 <= zh_share <= 1.0:
        raise ValueError(f"zh_share must be between 0 and 1, got {zh_share}")
    cols = _generate(n, seed, zh_share, start)
    ids = [f"syn-{i:07d}" for i in range(start + 1, start + n + 1)]
    return pa.table([ids, cols["prompt"], cols["category"], cols["topic"], cols["language"], cols["gold"],
                     pa.repeat(pa.scalar("synth"), n) if n else pa.array([], pa.string())], schema=SYNTH_SCHEMA)


# --------------------------------------------------------------------------------------------
# Importers: IFEval, WritingBench, any table with a prompt column
# --------------------------------------------------------------------------------------------
# Every input row ends up in exactly one of (table, rejects): malformed rows are quarantined
# with a reason (missing_prompt, wrong_type, missing_id, duplicate_id, invalid_utf8,
# invalid_json, invalid_kwargs, unknown_instruction_id, invalid_requirements), never dropped.
# A file that cannot be read as a whole (truncated, corrupt, unknown format) raises DatasetError.

_STAGE = "data"


class _Rows:
    """Accepted rows as output columns, rejected rows as a rejects table."""

    def __init__(self, raw: RawRows):
        self.raw = raw
        self.keep: list[int] = []
        self.columns: dict[str, list] = defaultdict(list)
        self.rejected: list[tuple[int, str | None, str, str]] = []

    def reject(self, row: int, rid: str | None, kind: str, reason: str) -> None:
        self.rejected.append((row, rid, kind, reason))

    def accept(self, row: int, values: dict[str, Any]) -> None:
        self.keep.append(row)
        for name, value in values.items():
            self.columns[name].append(value)

    def rejects(self) -> pa.Table:
        self.rejected.sort(key=lambda r: r[0])
        rows, ids, kinds, reasons = ([r[k] for r in self.rejected] for k in range(4))
        return rejects_table(rows, ids, _STAGE, kinds, reasons)


def _id_text(value: Any) -> str | None:
    """An id as text: strings as they are, integers (and integral floats) in decimal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value
    return None


def _check_prompt(value: Any, column: str) -> tuple[str, str] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "missing_prompt", f"{column!r} is missing or empty"
    if not isinstance(value, str):
        return "wrong_type", f"{column!r} must be a string, got {type(value).__name__}"
    return None


def _optional_text(value: Any, column: str) -> tuple[str | None, tuple[str, str] | None]:
    """An optional text field; empty text (a blank CSV cell) is null."""
    if value is None or isinstance(value, str):
        return (value if value and value.strip() else None), None
    return None, ("wrong_type", f"{column!r} must be a string or null, got {type(value).__name__}")


def _ifeval_fields(ids: Any, kwargs: Any) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """Validate IFEval ``instruction_id_list`` and ``kwargs``; kwargs become a JSON list of objects."""
    from wrl.requirements import ifeval_mapping

    if isinstance(ids, str):  # a CSV cell holding a JSON list
        try:
            ids = json.loads(ids)
        except json.JSONDecodeError:
            pass
    if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
        return None, ("wrong_type", f"'instruction_id_list' must be a list of strings, got {type(ids).__name__}")
    if isinstance(kwargs, str):
        try:
            kwargs = json.loads(kwargs)
        except json.JSONDecodeError as e:
            return None, ("invalid_kwargs", f"'kwargs' is not valid JSON: {e}")
    if kwargs is None:
        kwargs = [None] * len(ids)
    if not isinstance(kwargs, list) or not all(k is None or isinstance(k, dict) for k in kwargs):
        return None, ("invalid_kwargs", "'kwargs' must be a list of objects (one per instruction id)")
    if len(kwargs) != len(ids):
        return None, ("invalid_kwargs", f"'kwargs' has {len(kwargs)} entries for {len(ids)} instruction ids")
    known = ifeval_mapping()
    unknown = [x for x in ids if x not in known]
    if unknown:
        return None, ("unknown_instruction_id", f"unknown IFEval instruction id(s): {', '.join(unknown)}")
    cleaned = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in kwargs]
    return {"instruction_id_list": ids, "kwargs": _GOLD_DUMP(cleaned)}, None


def _requirements_field(value: Any) -> tuple[str | None, tuple[str, str] | None]:
    """Validate an explicit requirements list (JSON text or a list); returns compact JSON."""
    from wrl.requirements import taxonomy

    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            return None, ("invalid_requirements", f"'requirements' is not valid JSON: {e}")
    if not isinstance(value, list):
        return None, ("invalid_requirements", "'requirements' must be a list of {type, params, text} objects")
    types = taxonomy()
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            return None, ("invalid_requirements", f"requirement {item!r} is not an object with a 'type'")
        if item["type"] not in types:
            return None, ("invalid_requirements", f"unknown requirement type {item['type']!r}")
        params = _params(item.get("params"))
        if not isinstance(params, dict):
            return None, ("invalid_requirements", f"{item['type']}: params must be an object, got {params!r}")
        req = {"type": item["type"], "params": params}
        if item.get("text") is not None:
            if not isinstance(item["text"], str):
                return None, ("invalid_requirements", f"{item['type']}: text must be a string")
            req["text"] = item["text"]
        out.append(req)
    return _GOLD_DUMP(out), None


def _finish(rows: _Rows, fields: list[tuple[str, pa.DataType]],
            carry: tuple[str, ...] = ()) -> tuple[pa.Table, pa.Table]:
    """Reject duplicate ids (first occurrence wins), then build the output table."""
    first: dict[str, int] = {}
    dup = set()
    for pos, (row, rid) in enumerate(zip(rows.keep, rows.columns["id"], strict=True)):
        if rid in first:
            dup.add(pos)
            rows.reject(row, rid, "duplicate_id", f"duplicate id {rid!r}: row {first[rid]} has the same id")
        else:
            first[rid] = row
    keep_pos = [p for p in range(len(rows.keep)) if p not in dup]
    arrays, names = [], []
    for name, typ in fields:
        values = rows.columns.get(name) or [None] * len(rows.keep)
        arrays.append(pa.array([values[p] for p in keep_pos], typ))
        names.append(name)
    kept_rows = [rows.keep[p] for p in keep_pos]
    taken = set(names)
    for name, array in rows.raw.carry(list(carry), kept_rows):
        out_name = name if name not in taken else f"input_{name}"
        arrays.append(array)
        names.append(out_name)
        taken.add(out_name)
    return pa.Table.from_arrays(arrays, names=names), rows.rejects()


_IFEVAL_FIELDS = [("id", pa.string()), ("prompt", pa.string()), ("category", pa.string()), ("source", pa.string()),
                  ("instruction_id_list", pa.list_(pa.string())), ("kwargs", pa.string())]


def import_ifeval(path: str | os.PathLike[str]) -> tuple[pa.Table, pa.Table]:
    """Import an IFEval-format file: JSONL or Parquet with ``key``, ``prompt``,
    ``instruction_id_list`` and ``kwargs``.

    ``kwargs`` may be a list of objects (JSONL) or a list<struct> whose absent keys are nulls
    (Parquet); null-valued keys are dropped either way.

    Returns:
        ``(table, rejects)``: ``table`` has ``id`` (``str(key)``), ``prompt``, ``category``
        (null), ``source`` ("ifeval"), ``instruction_id_list`` and ``kwargs`` (JSON list of
        objects); ``rejects`` has the schema ``wrl.io.REJECTS_SCHEMA``.

    Raises:
        DatasetError: the file is missing, truncated or corrupt.
    """
    raw = read_rows(path)
    rows = _Rows(raw)
    keys, prompts = raw.values("key"), raw.values("prompt")
    id_lists, kwargs = raw.values("instruction_id_list"), raw.values("kwargs")
    for i in range(raw.n):
        rid = _id_text(keys[i])
        if i in raw.bad:
            rows.reject(i, rid, *raw.bad[i])
            continue
        if rid is None:
            kind = "missing_id" if keys[i] is None else "wrong_type"
            rows.reject(i, None, kind, f"'key' must be an integer or a non-empty string, got {keys[i]!r}")
            continue
        problem = _check_prompt(prompts[i], "prompt")
        structured, problem = (None, problem) if problem else _ifeval_fields(id_lists[i], kwargs[i])
        if problem:
            rows.reject(i, rid, *problem)
            continue
        rows.accept(i, {"id": rid, "prompt": prompts[i], "category": None, "source": "ifeval", **structured})
    return _finish(rows, _IFEVAL_FIELDS)


_WRITINGBENCH_FIELDS = [("id", pa.string()), ("prompt", pa.string()), ("category", pa.string()),
                        ("source", pa.string()), ("subcategory", pa.string()), ("language", pa.string()),
                        ("checklist", pa.string())]


def import_writingbench(path: str | os.PathLike[str]) -> tuple[pa.Table, pa.Table]:
    """Import a WritingBench-format file (``index``, ``domain1``, ``domain2``, ``query``,
    ``checklist``, optionally ``lang``).

    The query becomes the prompt, ``domain1`` the category and ``domain2`` the subcategory. The
    checklist items are rubric criteria, not requirements of our taxonomy: they are kept as a JSON
    string column ``checklist``, and the parser finds requirements in the query text.

    Returns:
        ``(table, rejects)`` with columns ``id``, ``prompt``, ``category``, ``source``
        ("writingbench"), ``subcategory``, ``language`` (from ``lang``; null if absent) and
        ``checklist``.

    Raises:
        DatasetError: the file is missing, truncated or corrupt.
    """
    raw = read_rows(path)
    rows = _Rows(raw)
    index, queries = raw.values("index"), raw.values("query")
    domain1, domain2, langs, checklists = (raw.values(c) for c in ("domain1", "domain2", "lang", "checklist"))
    for i in range(raw.n):
        rid = _id_text(index[i])
        if i in raw.bad:
            rows.reject(i, rid, *raw.bad[i])
            continue
        if rid is None:
            kind = "missing_id" if index[i] is None else "wrong_type"
            rows.reject(i, None, kind, f"'index' must be an integer or a non-empty string, got {index[i]!r}")
            continue
        problem = _check_prompt(queries[i], "query")
        texts = {}
        for column, out_name, value in (("domain1", "category", domain1[i]), ("domain2", "subcategory", domain2[i]),
                                        ("lang", "language", langs[i])):
            texts[out_name], p = _optional_text(value, column)
            problem = problem or p
        checklist = checklists[i]
        if checklist is not None and not isinstance(checklist, (list, dict, str)):
            problem = problem or ("wrong_type", f"'checklist' must be a list, got {type(checklist).__name__}")
        if problem:
            rows.reject(i, rid, *problem)
            continue
        if checklist is not None and not isinstance(checklist, str):
            checklist = json.dumps(checklist, ensure_ascii=False, separators=(",", ":"))
        rows.accept(i, {"id": rid, "prompt": queries[i], "category": texts["category"], "source": "writingbench",
                        "subcategory": texts["subcategory"], "language": texts["language"], "checklist": checklist})
    return _finish(rows, _WRITINGBENCH_FIELDS)


_GENERIC_FIELDS = [("id", pa.string()), ("prompt", pa.string()), ("category", pa.string()), ("source", pa.string()),
                   ("instruction_id_list", pa.list_(pa.string())), ("kwargs", pa.string()),
                   ("requirements", pa.string())]


def import_generic(path: str | os.PathLike[str], *, prompt_column: str = "prompt", id_column: str = "id",
                   category_column: str = "category") -> tuple[pa.Table, pa.Table]:
    """Import any JSONL, CSV or Parquet file with a prompt column.

    Optional columns: ``id_column`` (ids are the row numbers, "0", "1", ..., when the column is
    absent), ``category_column``, ``requirements`` (a JSON list of ``{type, params, text}``),
    IFEval ``instruction_id_list`` with ``kwargs``, and ``source`` (default "generic"). Every
    other column is carried through unchanged (renamed ``input_<name>`` if it would clash).

    Returns:
        ``(table, rejects)`` with ``id``, ``prompt``, ``category``, ``source``, the structured
        columns present in the input, then the carried columns.

    Raises:
        DatasetError: the file is missing, truncated, corrupt, or has no ``prompt_column``.
    """
    raw = read_rows(path)
    if raw.n and not raw.has(prompt_column):
        raise DatasetError(f"{raw.path}: no {prompt_column!r} column (columns: {', '.join(raw.names)}); "
                           "pass prompt_column=...")
    rows = _Rows(raw)
    has_id = raw.has(id_column)
    ids, prompts = raw.values(id_column), raw.values(prompt_column)
    categories, sources = raw.values(category_column), raw.values("source")
    has_ifeval = raw.has("instruction_id_list")
    id_lists, kwargs = raw.values("instruction_id_list"), raw.values("kwargs")
    has_reqs = raw.has("requirements")
    reqs = raw.values("requirements")
    for i in range(raw.n):
        rid = _id_text(ids[i]) if has_id else str(i)
        if i in raw.bad:
            rows.reject(i, rid, *raw.bad[i])
            continue
        if rid is None:
            kind = "missing_id" if ids[i] is None else "wrong_type"
            rows.reject(i, None, kind, f"{id_column!r} must be an integer or a non-empty string, got {ids[i]!r}")
            continue
        problem = _check_prompt(prompts[i], prompt_column)
        category, p = _optional_text(categories[i], category_column)
        problem = problem or p
        source, p = _optional_text(sources[i], "source")
        problem = problem or p
        values: dict[str, Any] = {}
        if has_ifeval and not problem:
            if id_lists[i] is None and kwargs[i] is None:
                values.update(instruction_id_list=None, kwargs=None)
            else:
                structured, problem = _ifeval_fields(id_lists[i], kwargs[i])
                values.update(structured or {})
        if has_reqs and not problem:
            values["requirements"], problem = _requirements_field(reqs[i])
        if problem:
            rows.reject(i, rid, *problem)
            continue
        rows.accept(i, {"id": rid, "prompt": prompts[i], "category": category, "source": source or "generic",
                        **values})
    used = {id_column, prompt_column, category_column, "source", "requirements", "instruction_id_list", "kwargs"}
    fields = [f for f in _GENERIC_FIELDS if f[0] in ("id", "prompt", "category", "source")
              or (has_ifeval and f[0] in ("instruction_id_list", "kwargs")) or (has_reqs and f[0] == "requirements")]
    return _finish(rows, fields, carry=tuple(n for n in raw.names if n not in used))


def load_dataset(source: str, *, path: str | os.PathLike[str] | None = None, n: int = 1000, seed: int = 0,
                 zh_share: float = 0.15, prompt_column: str = "prompt") -> tuple[pa.Table, pa.Table]:
    """Load instructions from a named source.

    Args:
        source: "synth" (generated, needs no ``path``), "ifeval", "writingbench" or "generic".
        path: the input file, for every source except "synth".
        n, seed, zh_share: size, seed and Chinese share of the synthetic dataset.
        prompt_column: the prompt column of a generic file.

    Returns:
        ``(table, rejects)``; ``rejects`` is empty for "synth".

    Raises:
        ValueError: unknown source, or a file source without ``path``.
        DatasetError: the file is missing, truncated or corrupt.
    """
    if source == "synth":
        return synthesize(n, seed=seed, zh_share=zh_share), REJECTS_SCHEMA.empty_table()
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}: use one of {', '.join(SOURCES)}")
    if path is None:
        raise ValueError(f"data source {source!r} reads a file: pass path=... (a .jsonl, .csv or .parquet file)")
    if source == "ifeval":
        return import_ifeval(path)
    if source == "writingbench":
        return import_writingbench(path)
    return import_generic(path, prompt_column=prompt_column)


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------


def _normalize_prompt(prompt: str | None) -> str:
    return " ".join((prompt or "").lower().split())


def assign_splits(table: pa.Table, *, train: float, dev: float, test: float, seed: int = 0) -> pa.Table:
    """Add a ``split`` column ("train"/"dev"/"test") from a stable hash of the normalized prompt.

    The prompt is lowercased and its whitespace collapsed, then hashed with BLAKE2b together with
    ``seed``; the hash, read as a number in [0, 1), picks the split by the cumulative fractions.
    The same prompt (up to case and spacing) therefore always lands in the same split, on every
    machine and in every run, whatever else is in the table.

    Args:
        table: a table with a ``prompt`` column; an existing ``split`` column is replaced.
        train, dev, test: fractions, each between 0 and 1, summing to 1.
        seed: changes the assignment as a whole.

    Raises:
        ValueError: fractions out of range or not summing to 1, or no ``prompt`` column.
    """
    fractions = {"train": train, "dev": dev, "test": test}
    for name, value in fractions.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"split fraction {name}={value} must be between 0 and 1")
    if abs(train + dev + test - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got train={train} + dev={dev} + test={test} = "
                         f"{train + dev + test:g}")
    if "prompt" not in table.column_names:
        raise ValueError(f"assign_splits needs a 'prompt' column; got {table.column_names}")
    cut_train, cut_dev = train * 2**64, (train + dev) * 2**64
    salt = f"{int(seed)}\x1f".encode()
    cache: dict[str, str] = {}
    splits = []
    for prompt in table["prompt"].to_pylist():
        key = _normalize_prompt(prompt)
        split = cache.get(key)
        if split is None:
            h = int.from_bytes(hashlib.blake2b(salt + key.encode("utf-8"), digest_size=8).digest(), "big")
            split = "train" if h < cut_train else "dev" if h < cut_dev else "test"
            cache[key] = split
        splits.append(split)
    column = pa.array(splits, pa.string())
    if "split" in table.column_names:
        return table.set_column(table.column_names.index("split"), "split", column)
    return table.append_column("split", column)


# --------------------------------------------------------------------------------------------
# Parser accuracy against gold requirements
# --------------------------------------------------------------------------------------------


def _scores(tp: int, predicted: int, support: int, exact: int) -> dict[str, Any]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": support,
            "predicted": predicted, "matched": tp, "params_exact": round(exact / tp, 4) if tp else 0.0}


def _params(value: Any) -> Any:
    """Requirement params as a comparable object (they arrive as JSON text or as a mapping)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value if value is not None else {}


#: Params the parser derives from the whole instruction rather than reads from the requirement's
#: text (the request a ``repeat_prompt`` repeats); the gold has none, accuracy leaves them out.
DERIVED_PARAMS = {"repeat_prompt": ("prompt",)}


class ParserAccuracy:
    """Parser accuracy against gold requirements, accumulated batch by batch (a stage streams its input).

    Per instruction and type, the parser is credited with ``min(parsed, gold)`` matches (a
    multiset intersection of types); precision, recall and F1 are micro-averaged over all
    instructions with gold. For matched pairs, ``params_exact`` is the share whose normalized
    params equal the gold params exactly (pairs are matched equal-params first).
    """

    def __init__(self) -> None:
        self.tp: Counter = Counter()
        self.predicted: Counter = Counter()
        self.support: Counter = Counter()
        self.exact: Counter = Counter()
        self.instructions = 0

    def add(self, parsed: pa.Table) -> None:
        """Count a batch of parsed rows; rows whose ``gold_requirements`` is null are skipped."""
        for name in ("requirements", "gold_requirements"):
            if name not in parsed.column_names:
                raise ValueError(f"parser_accuracy needs a {name!r} column; got {parsed.column_names}")
        for found, gold_json in zip(parsed["requirements"].to_pylist(), parsed["gold_requirements"].to_pylist(),
                                    strict=True):
            if gold_json is None:
                continue
            self.instructions += 1
            gold_by: dict[str, list] = defaultdict(list)
            for g in json.loads(gold_json):
                gold_by[g["type"]].append(_params(g.get("params")))
            found_by: dict[str, list] = defaultdict(list)
            for r in found or ():
                params = _params(r.get("params"))
                derived = DERIVED_PARAMS.get(r["type"], ())
                found_by[r["type"]].append({k: v for k, v in params.items() if k not in derived})
            for rtype in gold_by.keys() | found_by.keys():
                golds, founds = gold_by.get(rtype, []), list(found_by.get(rtype, []))
                self.support[rtype] += len(golds)
                self.predicted[rtype] += len(founds)
                self.tp[rtype] += min(len(golds), len(founds))
                hits = 0
                for g in golds:
                    if g in founds:
                        founds.remove(g)
                        hits += 1
                self.exact[rtype] += min(hits, len(golds), len(found_by.get(rtype, [])))

    def result(self) -> dict[str, Any]:
        """``{"overall": {precision, recall, f1, support, predicted, matched, params_exact},
        "by_type": {type: {...}}, "instructions": n}``."""
        tp, predicted, support, exact = self.tp, self.predicted, self.support, self.exact
        by_type = {t: _scores(tp[t], predicted[t], support[t], exact[t])
                   for t in sorted(support.keys() | predicted.keys())}
        overall = _scores(sum(tp.values()), sum(predicted.values()), sum(support.values()), sum(exact.values()))
        return {"overall": overall, "by_type": by_type, "instructions": self.instructions}


def parser_accuracy(parsed: pa.Table) -> dict[str, Any]:
    """Compare parsed requirement types with the gold ones, per instruction (:class:`ParserAccuracy`).

    Args:
        parsed: output of :func:`wrl.parse_dataset` on a table with a ``gold_requirements`` column
            (JSON list of ``{"type", "params"}``); rows whose gold is null are skipped.

    Returns:
        ``{"overall": {precision, recall, f1, support, predicted, matched, params_exact},
        "by_type": {type: {...}}, "instructions": n}``.
    """
    accuracy = ParserAccuracy()
    accuracy.add(parsed)
    return accuracy.result()
