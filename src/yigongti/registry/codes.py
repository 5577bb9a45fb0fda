"""Code tables of the registries, with Chinese and English display names."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

# kind -> (tier, zh, en)
INSTITUTION_KINDS: dict[str, tuple[str, str, str]] = {
    "health_bureau": ("county", "卫生健康局", "Health bureau"),
    "cdc": ("county", "疾病预防控制中心", "Center for disease control"),
    "county_hospital": ("county", "县级医院", "County hospital"),
    "township_center": ("township", "乡镇卫生院", "Township health center"),
    "community_center": ("township", "社区卫生服务中心", "Community health center"),
    "village_clinic": ("village", "村卫生室", "Village clinic"),
    "private_hospital": ("county", "民营医院", "Private hospital"),
}

PRIMARY_KINDS = frozenset({"township_center", "community_center", "village_clinic"})

TIERS: dict[str, tuple[str, str]] = {
    "county": ("县级", "County"),
    "township": ("乡镇级", "Township"),
    "village": ("村级", "Village"),
}

# 职称 (professional titles): code -> (profession, zh, en)
TITLES: dict[str, tuple[str, str, str]] = {
    "chief_physician": ("physician", "主任医师", "Chief physician"),
    "associate_chief_physician": ("physician", "副主任医师", "Associate chief physician"),
    "attending_physician": ("physician", "主治医师", "Attending physician"),
    "physician": ("physician", "医师", "Physician"),
    "assistant_physician": ("physician", "助理医师", "Assistant physician"),
    "rural_doctor": ("physician", "乡村医生", "Rural doctor"),
    "chief_nurse": ("nurse", "主任护师", "Chief nurse"),
    "supervisor_nurse": ("nurse", "主管护师", "Supervisor nurse"),
    "senior_nurse": ("nurse", "护师", "Senior nurse"),
    "nurse": ("nurse", "护士", "Nurse"),
    "public_health_physician": ("public_health", "公共卫生医师", "Public-health physician"),
    "technologist": ("technician", "技师", "Technologist"),
}

TEAM_ROLES: dict[str, tuple[str, str]] = {
    "gp": ("全科医生", "General practitioner"),
    "nurse": ("护士", "Nurse"),
    "public_health": ("公卫医生", "Public-health doctor"),
    "specialist": ("专科医生", "County specialist"),
}

INSURANCE_TYPES: dict[str, tuple[str, str]] = {
    "urban_rural": ("城乡居民医保", "Urban-rural resident insurance"),
    "employee": ("职工医保", "Employee insurance"),
    "none": ("未参保", "Uninsured"),
}

RELATIONS: dict[str, tuple[str, str]] = {
    "head": ("户主", "Head of household"),
    "spouse": ("配偶", "Spouse"),
    "child": ("子女", "Child"),
    "parent": ("父母", "Parent"),
    "grandchild": ("孙子女", "Grandchild"),
    "other": ("其他", "Other"),
}

SEXES: dict[str, tuple[str, str]] = {"male": ("男", "Male"), "female": ("女", "Female")}


@cache
def department_catalog() -> dict[str, dict[str, str]]:
    """诊疗科目 codes of the national catalog used here: code -> {zh, en}."""
    raw = resources.files("yigongti.registry").joinpath("data/departments.json").read_text()
    return json.loads(raw)["departments"]


@cache
def icd10() -> dict[str, dict[str, str]]:
    """The ICD-10 codes the platform names in its views and synthetic data: code -> {zh, en}."""
    raw = resources.files("yigongti.registry").joinpath("data/icd10.json").read_text()
    return json.loads(raw)["codes"]
