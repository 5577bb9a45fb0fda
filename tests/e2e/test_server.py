"""The UI shares its server with the JSON API without changing what the API answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path


def _get(url: str, method: str = "GET") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers.get("content-type", ""), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


def test_health_and_api_answer_beside_the_ui(base_url: str) -> None:
    assert _get(f"{base_url}/healthz")[0] == 200
    status, kind, body = _get(f"{base_url}/login")
    assert status == 200 and kind.startswith("text/html")
    assert "医共体信息平台".encode() in body


def test_ui_routes_stay_out_of_the_api_description(base_url: str) -> None:
    status, _, body = _get(f"{base_url}/api/v1/openapi.json")
    assert status == 200
    paths = json.loads(body)["paths"]
    assert all(path.startswith("/api/v1/") or path == "/healthz" for path in paths), paths


def test_unknown_api_paths_and_wrong_methods_answer_problem_json(base_url: str) -> None:
    status, kind, _ = _get(f"{base_url}/api/v1/no-such-thing")
    assert (status, kind) == (404, "application/problem+json")
    status, kind, _ = _get(f"{base_url}/api/v1/users", method="PUT")
    assert (status, kind) == (405, "application/problem+json")


def test_ui_storage_lives_in_the_data_dir(base_url: str, demo_dir: Path) -> None:
    assert (demo_dir / "ui-storage").is_dir()
    assert not (demo_dir / ".nicegui").exists()  # the server's working directory
