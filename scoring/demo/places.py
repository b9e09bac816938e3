"""Demo places: two counties modelled on the seeds, with plausible names and division codes.

Codes follow the statistical division scheme: township = county + 3 digits, unit = township +
3 digits, communities (居委会) numbered from 001 and villages (村委会) from 200.
"""

from __future__ import annotations

import random

NEIHUANG = {
    "province": ("410000000000", "河南省"),
    "city": ("410500000000", "安阳市"),
    "county": ("410527000000", "内黄县"),
    # (township, villages, communities, named units that the seed reports mention)
    "townships": [
        ("城关镇", 28, 6, ["东长固村"]),
        ("东庄镇", 31, 1, []),
        ("井店镇", 32, 0, []),
        ("梁庄镇", 33, 0, ["冯庄村"]),
        ("后河镇", 31, 0, []),
        ("楚旺镇", 30, 2, []),
        ("田氏镇", 29, 0, []),
        ("二安镇", 31, 0, []),
        ("六村乡", 30, 0, []),
        ("宋村乡", 30, 0, ["西沟村"]),
        ("张龙乡", 31, 0, []),
        ("马上乡", 30, 0, []),
        ("高堤乡", 31, 0, []),
        ("亳城镇", 32, 0, []),
        ("石盘屯乡", 30, 0, []),
        ("中召乡", 30, 0, []),
        ("豆公镇", 31, 3, []),
    ],
}

XIAXIAN = {
    "province": ("140000000000", "山西省"),
    "city": ("140800000000", "运城市"),
    "county": ("140828000000", "夏县"),
    "townships": [
        ("瑶峰镇", 12, 5, []),
        ("庙前镇", 14, 0, []),
        ("裴介镇", 13, 0, []),
        ("水头镇", 15, 0, []),
        ("埝掌镇", 13, 0, []),
        ("泗交镇", 10, 0, []),
        ("禹王镇", 14, 1, []),
        ("胡张乡", 12, 0, []),
        ("南大里乡", 11, 0, []),
        ("祁家河乡", 9, 0, []),
    ],
}

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤常"
)
GIVEN = "建国军华明伟强磊洋勇艳杰娟涛超秀英霞平刚桂兰玉梅红志海峰新春福德成利民生振兴广文学"
PLACE_PREFIX = ["", "", "", "东", "西", "南", "北", "前", "后", "大", "小", "新", "老", "上", "下"]
PLACE_SUFFIX = ["庄", "村", "寨", "屯", "营", "集", "店", "楼", "湾", "固", "堤", "口", "岗", "河"]
COMMUNITY_STEMS = [
    "建设路",
    "文化路",
    "繁荣街",
    "和平路",
    "人民路",
    "站前",
    "开元",
    "明珠",
    "康居",
    "滨河",
    "府前",
    "幸福",
    "阳光",
    "永安",
    "新华",
]


def village_names(rng: random.Random, count: int, taken: set[str], fixed: list[str]) -> list[str]:
    """Return `count` distinct village names, the seed's `fixed` names first."""
    names = [n for n in fixed if n.endswith("村")]
    taken.update(names)
    while len(names) < count:
        stem = rng.choice(PLACE_PREFIX) + rng.choice(SURNAMES) + rng.choice(PLACE_SUFFIX)
        name = stem if stem.endswith("村") else stem + "村"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def community_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    stems = COMMUNITY_STEMS[:]
    rng.shuffle(stems)
    for stem in stems:
        if len(names) == count:
            break
        name = stem + "社区"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
