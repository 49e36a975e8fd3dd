"""Sample vehicle lists for the import and page tests."""

from pathlib import Path

from zhichao.platform.importer import write_vehicles_xlsx

# 车牌号码, 车牌颜色, 轴数, 轴型, 核定总质量(kg), 所有人, 运输企业, 所属区划, 牵引车车牌
GOOD_ROWS = [
    ["晋E11111", "黄", 2, "1+1", 18000, "王五", "晋城甲运输有限公司", "泽州县", None],
    ["晋E22222", "黄色", 3, "1+2", 25000, "赵六", "晋城甲运输有限公司", "140525", None],
    ["晋e·33333", "yellow", 3, "1+2", 25000, None, None, "泽州县", ""],
    [
        "晋E0001挂",
        "黄",
        3,
        "3",
        40000,
        "赵六",
        "晋城甲运输有限公司",
        "泽州县",
        "晋E22222、晋E33333",
    ],
    ["晋ED12345", "绿", 2, "1+1", 3500, "孙七", None, "高平市", None],
]


def bad_rows() -> list[list]:
    """One bad row of each kind, in the order of BAD_ROW_REASONS."""
    bad_plate = ["晋E1234", "黄", 2, None, 18000, None, None, "泽州县", None]
    tractor_on_truck = [
        "晋E44444",
        "黄",
        2,
        None,
        18000,
        None,
        None,
        "泽州县",
        "晋E22222",
    ]
    too_many_axles = ["晋E55555", "黄", 14, None, 49000, None, None, "泽州县", None]
    unknown_region = [
        "晋E66666",
        "黄",
        2,
        None,
        18000,
        None,
        None,
        "太原市小店区",
        None,
    ]
    bad_colour = ["晋E77777", "红", 2, None, 18000, None, None, "泽州县", None]
    duplicate = ["晋E11111", "黄", 2, None, 18000, None, None, "泽州县", None]
    tonnes = ["晋E88888", "黄", 2, None, 18, None, None, "泽州县", None]
    return [
        bad_plate,
        tractor_on_truck,
        too_many_axles,
        unknown_region,
        bad_colour,
        duplicate,
        tonnes,
    ]


# (column, a part of the reason) of each bad row, in order
BAD_ROW_REASONS = [
    ("车牌号码", "must be 7 or 8 characters"),
    ("牵引车车牌", "晋E44444 is not a trailer"),
    ("轴数", "axles must be 2 to 12, got 14"),
    ("所属区划", "unknown region '太原市小店区'"),
    ("车牌颜色", "'红' is not one of 黄/蓝/绿/黄绿/白/黑"),
    ("车牌号码", "duplicate of row 3"),
    ("核定总质量(kg)", "in kg, not tonnes"),
]


def vehicle_list(path: Path, title: str | None = "泽州县车辆登记表") -> Path:
    """The good rows then the bad ones: with the title, the header is row 2,
    the good rows are 3-7 and the bad rows 8-14."""
    return write_vehicles_xlsx(path, GOOD_ROWS + bad_rows(), title=title)
