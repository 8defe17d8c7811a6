"""Azure VM sizes the platform knows: series, vCPUs, memory, GPUs, retirement, source.

One row per size; the series' Microsoft page is the source of every number in its rows.
Sizes are matched case-insensitively (Azure accepts `STANDARD_D4S_V5`). A size missing
here is rejected by the settings unless the cluster sets `vmSizeUnlisted: true`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

_SIZES = "https://learn.microsoft.com/azure/virtual-machines/sizes"
DV5 = f"{_SIZES}/general-purpose/dv5-series"
DSV5 = f"{_SIZES}/general-purpose/dsv5-series"
DV2 = f"{_SIZES}/general-purpose/dv2-series"
DSV2 = f"{_SIZES}/general-purpose/dsv2-series"
EV5 = f"{_SIZES}/memory-optimized/ev5-series"
ESV5 = f"{_SIZES}/memory-optimized/esv5-series"
ESV3 = f"{_SIZES}/memory-optimized/esv3-series"
FSV2 = f"{_SIZES}/compute-optimized/fsv2-series"
NCAST4V3 = f"{_SIZES}/gpu-accelerated/ncast4v3-series"
NCA100V4 = f"{_SIZES}/gpu-accelerated/nca100v4-series"
NCADSH100V5 = f"{_SIZES}/gpu-accelerated/ncadsh100v5-series"
NCV3_RETIREMENT = (
    "https://learn.microsoft.com/azure/virtual-machines/ncv3-nc6s-nc12s-nc24s-retirement"
)
_MIGRATION = f"{_SIZES}/migration-guides"
NC_RETIREMENT = f"{_MIGRATION}/nc-series-retirement"
NCV2_RETIREMENT = f"{_MIGRATION}/ncv2-series-retirement"
ND_RETIREMENT = f"{_MIGRATION}/nd-series-retirement"
NV_RETIREMENT = f"{_MIGRATION}/nv-series-retirement"


@dataclass(frozen=True)
class VmSize:
    """One VM size: what a node of it offers, and whether Azure still runs it."""

    name: str
    series: str
    vcpus: int
    memory_gib: float
    gpus: int = 0
    gpu: str = ""  # the GPU model, e.g. "NVIDIA T4"
    retired_on: date | None = None
    replacements: tuple[str, ...] = ()
    source: str = ""

    @property
    def retired(self) -> bool:
        """Whether Azure has retired the size (as of its retirement date)."""
        return self.retired_on is not None


def _series(
    series: str,
    source: str,
    rows: list[tuple[str, int, float, int]],
    *,
    gpu: str = "",
    retired_on: date | None = None,
    replacements: tuple[str, ...] = (),
) -> list[VmSize]:
    return [
        VmSize(name, series, vcpus, memory, gpus, gpu, retired_on, replacements, source)
        for name, vcpus, memory, gpus in rows
    ]


# Current replacements Microsoft names for the retired GPU series (NC A100 v4 for NCv3).
_GPU_REPLACEMENTS = ("Standard_NC24ads_A100_v4", "Standard_NC4as_T4_v3", "Standard_NC40ads_H100_v5")

VM_SIZES: tuple[VmSize, ...] = tuple(
    # General purpose
    _series(
        "Dv5",
        DV5,
        [
            ("Standard_D2_v5", 2, 8, 0),
            ("Standard_D4_v5", 4, 16, 0),
            ("Standard_D8_v5", 8, 32, 0),
            ("Standard_D16_v5", 16, 64, 0),
            ("Standard_D32_v5", 32, 128, 0),
            ("Standard_D48_v5", 48, 192, 0),
            ("Standard_D64_v5", 64, 256, 0),
            ("Standard_D96_v5", 96, 384, 0),
        ],
    )
    + _series(
        "Dsv5",
        DSV5,
        [
            ("Standard_D2s_v5", 2, 8, 0),
            ("Standard_D4s_v5", 4, 16, 0),
            ("Standard_D8s_v5", 8, 32, 0),
            ("Standard_D16s_v5", 16, 64, 0),
            ("Standard_D32s_v5", 32, 128, 0),
            ("Standard_D48s_v5", 48, 192, 0),
            ("Standard_D64s_v5", 64, 256, 0),
            ("Standard_D96s_v5", 96, 384, 0),
        ],
    )
    + _series(
        "Dv2",
        DV2,
        [
            ("Standard_D1_v2", 1, 3.5, 0),
            ("Standard_D2_v2", 2, 7, 0),
            ("Standard_D3_v2", 4, 14, 0),
            ("Standard_D4_v2", 8, 28, 0),
            ("Standard_D5_v2", 16, 56, 0),
            ("Standard_D11_v2", 2, 14, 0),
            ("Standard_D12_v2", 4, 28, 0),
            ("Standard_D13_v2", 8, 56, 0),
            ("Standard_D14_v2", 16, 112, 0),
        ],
    )
    + _series(
        "DSv2",
        DSV2,
        [
            ("Standard_DS1_v2", 1, 3.5, 0),
            ("Standard_DS2_v2", 2, 7, 0),
            ("Standard_DS3_v2", 4, 14, 0),
            ("Standard_DS4_v2", 8, 28, 0),
            ("Standard_DS5_v2", 16, 56, 0),
            ("Standard_DS11_v2", 2, 14, 0),
            ("Standard_DS12_v2", 4, 28, 0),
            ("Standard_DS13_v2", 8, 56, 0),
            ("Standard_DS14_v2", 16, 112, 0),
        ],
    )
    # Memory optimized
    + _series(
        "Ev5",
        EV5,
        [
            ("Standard_E2_v5", 2, 16, 0),
            ("Standard_E4_v5", 4, 32, 0),
            ("Standard_E8_v5", 8, 64, 0),
            ("Standard_E16_v5", 16, 128, 0),
            ("Standard_E20_v5", 20, 160, 0),
            ("Standard_E32_v5", 32, 256, 0),
            ("Standard_E48_v5", 48, 384, 0),
            ("Standard_E64_v5", 64, 512, 0),
            ("Standard_E96_v5", 96, 672, 0),
        ],
    )
    + _series(
        "Esv5",
        ESV5,
        [
            ("Standard_E2s_v5", 2, 16, 0),
            ("Standard_E4s_v5", 4, 32, 0),
            ("Standard_E8s_v5", 8, 64, 0),
            ("Standard_E16s_v5", 16, 128, 0),
            ("Standard_E20s_v5", 20, 160, 0),
            ("Standard_E32s_v5", 32, 256, 0),
            ("Standard_E48s_v5", 48, 384, 0),
            ("Standard_E64s_v5", 64, 512, 0),
            ("Standard_E96s_v5", 96, 672, 0),
        ],
    )
    + _series(
        "Esv3",
        ESV3,
        [
            ("Standard_E2s_v3", 2, 16, 0),
            ("Standard_E4s_v3", 4, 32, 0),
            ("Standard_E8s_v3", 8, 64, 0),
            ("Standard_E16s_v3", 16, 128, 0),
            ("Standard_E32s_v3", 32, 256, 0),
            ("Standard_E64s_v3", 64, 432, 0),
        ],
    )
    # Compute optimized
    + _series(
        "Fsv2",
        FSV2,
        [
            ("Standard_F2s_v2", 2, 4, 0),
            ("Standard_F4s_v2", 4, 8, 0),
            ("Standard_F8s_v2", 8, 16, 0),
            ("Standard_F16s_v2", 16, 32, 0),
            ("Standard_F32s_v2", 32, 64, 0),
            ("Standard_F48s_v2", 48, 96, 0),
            ("Standard_F64s_v2", 64, 128, 0),
            ("Standard_F72s_v2", 72, 144, 0),
        ],
    )
    # GPU
    + _series(
        "NCasT4_v3",
        NCAST4V3,
        [
            ("Standard_NC4as_T4_v3", 4, 28, 1),
            ("Standard_NC8as_T4_v3", 8, 56, 1),
            ("Standard_NC16as_T4_v3", 16, 110, 1),
            ("Standard_NC64as_T4_v3", 64, 440, 4),
        ],
        gpu="NVIDIA T4",
    )
    + _series(
        "NC A100 v4",
        NCA100V4,
        [
            ("Standard_NC24ads_A100_v4", 24, 220, 1),
            ("Standard_NC48ads_A100_v4", 48, 440, 2),
            ("Standard_NC96ads_A100_v4", 96, 880, 4),
        ],
        gpu="NVIDIA A100 PCIe",
    )
    + _series(
        "NCads H100 v5",
        NCADSH100V5,
        [("Standard_NC40ads_H100_v5", 40, 320, 1), ("Standard_NC80adis_H100_v5", 80, 640, 2)],
        gpu="NVIDIA H100 NVL",
    )
    # Retired: kept so a stack file naming one gets the date and the replacements.
    + _series(
        "NCv3",
        NCV3_RETIREMENT,
        [
            ("Standard_NC6s_v3", 6, 112, 1),
            ("Standard_NC12s_v3", 12, 224, 2),
            ("Standard_NC24s_v3", 24, 448, 4),
            ("Standard_NC24rs_v3", 24, 448, 4),
        ],
        gpu="NVIDIA V100",
        retired_on=date(2025, 9, 30),
        replacements=_GPU_REPLACEMENTS,
    )
    + _series(
        "NCv2",
        NCV2_RETIREMENT,
        [
            ("Standard_NC6s_v2", 6, 112, 1),
            ("Standard_NC12s_v2", 12, 224, 2),
            ("Standard_NC24s_v2", 24, 448, 4),
            ("Standard_NC24rs_v2", 24, 448, 4),
        ],
        gpu="NVIDIA P100",
        retired_on=date(2023, 9, 6),
        replacements=_GPU_REPLACEMENTS,
    )
    + _series(
        "NC",
        NC_RETIREMENT,
        [
            ("Standard_NC6", 6, 56, 1),
            ("Standard_NC12", 12, 112, 2),
            ("Standard_NC24", 24, 224, 4),
            ("Standard_NC24r", 24, 224, 4),
        ],
        gpu="NVIDIA K80",
        retired_on=date(2023, 9, 6),
        replacements=_GPU_REPLACEMENTS,
    )
    + _series(
        "ND",
        ND_RETIREMENT,
        [
            ("Standard_ND6s", 6, 112, 1),
            ("Standard_ND12s", 12, 224, 2),
            ("Standard_ND24s", 24, 448, 4),
            ("Standard_ND24rs", 24, 448, 4),
        ],
        gpu="NVIDIA P40",
        retired_on=date(2023, 9, 6),
        replacements=_GPU_REPLACEMENTS,
    )
    + _series(
        "NV",
        NV_RETIREMENT,
        [("Standard_NV6", 6, 56, 1), ("Standard_NV12", 12, 112, 2), ("Standard_NV24", 24, 224, 4)],
        gpu="NVIDIA M60",
        retired_on=date(2023, 9, 6),
        replacements=("Standard_NC4as_T4_v3",),
    )
)

_BY_NAME = {size.name.lower(): size for size in VM_SIZES}


def vm_size(name: str) -> VmSize | None:
    """The catalog row for a size name (any case), or None if the catalog does not know it."""
    return _BY_NAME.get(name.lower())


def close_sizes(name: str, count: int = 3) -> list[str]:
    """Current (not retired) sizes whose names look like `name`, best first."""
    current = {s.name.lower(): s.name for s in VM_SIZES if not s.retired}
    matches = difflib.get_close_matches(name.lower(), list(current), n=count, cutoff=0.6)
    return [current[m] for m in matches]
