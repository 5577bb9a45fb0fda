"""FHIR errors: every failure of the FHIR API answers an OperationOutcome.

Services raise ``kernel`` errors; this module turns them, pydantic validation errors of the
R4B models and our own checks into OperationOutcome issues with the offending element's path
(``expression``), in English with the Chinese message beside it (an extension would be
invisible to most clients, so the Chinese text follows the English one in ``diagnostics``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yigongti.kernel import DomainError

# kernel error code -> (HTTP status, OperationOutcome issue code)
_ISSUE_OF_DOMAIN = {
    "invalid": "invalid",
    "not-found": "not-found",
    "forbidden": "forbidden",
    "conflict": "conflict",
    "unauthenticated": "login",
    "locked": "security",
}


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome issue: what is wrong, where (a FHIRPath), in both languages."""

    code: str  # the issue-type code: invalid, structure, required, value, not-found, ...
    en: str
    zh: str
    expression: str | None = None
    severity: str = "error"

    def as_fhir(self) -> dict:
        """The issue as FHIR JSON."""
        issue: dict = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": f"{self.en} / {self.zh}",
        }
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


@dataclass
class FhirError(Exception):
    """A failed FHIR interaction: an HTTP status and the issues to report."""

    status: int
    issues: list[Issue] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(i.en for i in self.issues)

    def outcome(self) -> dict:
        """The OperationOutcome resource of this error."""
        return operation_outcome(self.issues)


def fhir_error(
    status: int, code: str, en: str, zh: str, expression: str | None = None
) -> FhirError:
    """A ``FhirError`` with one issue."""
    return FhirError(status, [Issue(code, en, zh, expression)])


def invalid(en: str, zh: str, expression: str | None = None) -> FhirError:
    """A 400 about the content of a resource or request (issue code ``invalid``)."""
    return fhir_error(400, "invalid", en, zh, expression)


def not_supported(en: str, zh: str) -> FhirError:
    """A 400/405-style refusal of something the server does not do (issue ``not-supported``)."""
    return fhir_error(400, "not-supported", en, zh)


def operation_outcome(issues: list[Issue]) -> dict:
    """An OperationOutcome resource listing ``issues``."""
    return {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in issues]}


def from_domain(error: DomainError, resource_type: str | None = None) -> FhirError:
    """The FHIR error of a service's ``kernel`` error; a field names the element's path."""
    code = _ISSUE_OF_DOMAIN.get(error.code, "processing")
    status = 400 if error.status == 422 else error.status
    prefix = f"{resource_type}." if resource_type else ""
    issues = [Issue(code, f.en, f.zh, prefix + f.field) for f in error.fields]
    return FhirError(status, issues or [Issue(code, error.en, error.zh)])


def from_validation(resource_type: str, errors: list[dict]) -> FhirError:
    """The FHIR error of the R4B models' pydantic errors: one issue per element."""
    issues = []
    for error in errors[:20]:
        expression = _fhirpath(resource_type, error.get("loc", ()))
        message = error.get("msg", "invalid value")
        kind = "structure" if error.get("type") == "extra_forbidden" else "value"
        if error.get("type") == "missing":
            kind = "required"
        issues.append(
            Issue(
                kind,
                f"{expression}: {message}",
                f"{expression}：{_zh_of(error.get('type', ''))}（{message}）",
                expression,
            )
        )
    return FhirError(400, issues or [Issue("invalid", "Invalid resource", "资源内容无效")])


def _fhirpath(resource_type: str, loc: tuple | list) -> str:
    """``("name", 0, "given")`` -> ``Patient.name[0].given``."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("__root__",):
            path += f".{part}"
    return path


_ZH_OF_TYPE = {
    "extra_forbidden": "未知元素",
    "missing": "缺少必填元素",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "date_from_datetime_parsing": "日期格式无效",
    "date_parsing": "日期格式无效",
    "datetime_parsing": "日期时间格式无效",
    "enum": "取值不在允许的代码中",
    "literal_error": "取值不在允许的代码中",
    "list_type": "应为数组",
    "value_error": "取值无效",
}


def _zh_of(error_type: str) -> str:
    return _ZH_OF_TYPE.get(error_type, "元素取值无效")
