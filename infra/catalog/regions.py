"""Azure public-cloud region names (the programmatic names `location` takes).

Source: Microsoft's region list, https://learn.microsoft.com/azure/reliability/regions-list
(column "Programmatic name"); `az account list-locations -o table` prints the same names
for a subscription. A region missing here is rejected by the settings unless the stack sets
`locationUnlisted: true` (for a region newer than this list).
"""

from __future__ import annotations

import difflib

SOURCE = "https://learn.microsoft.com/azure/reliability/regions-list"

REGIONS: tuple[str, ...] = (
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "chilecentral",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "jioindiacentral",
    "jioindiawest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
)


def is_region(name: str) -> bool:
    """Whether `name` is a region on Microsoft's list."""
    return name in REGIONS


def close_regions(name: str, count: int = 3) -> list[str]:
    """Region names that look like `name` (a typo's likely meaning), best first."""
    return difflib.get_close_matches(name, REGIONS, n=count, cutoff=0.6)
