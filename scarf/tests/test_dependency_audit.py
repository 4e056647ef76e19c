"""What CI makes of pip-audit's report (scarf/audit.py): a known vulnerability
fails the run, an unreachable vulnerability service only warns."""

from scarf.audit import judge

DJANGO_CVE = {
    "name": "django",
    "version": "4.2.0",
    "vulns": [
        {
            "id": "PYSEC-2023-100",
            "fix_versions": ["3.2.19", "4.1.9", "4.2.1"],
            "aliases": ["CVE-2023-31047"],
            "description": "Potential bypass of validation when uploading multiple files",
        }
    ],
}
CLEAN = {"name": "orjson", "version": "3.13.0", "vulns": []}
SKIPPED = {"name": "celery", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def test_a_known_vulnerability_fails_naming_the_fixed_versions():
    verdict = judge({"dependencies": [CLEAN, DJANGO_CVE], "fixes": []}, "")

    assert verdict.exit_code == 1
    assert "django 4.2.0: PYSEC-2023-100 (fixed in 3.2.19, 4.1.9, 4.2.1)" in verdict.message


def test_a_vulnerability_fails_even_when_others_could_not_be_audited():
    assert judge({"dependencies": [SKIPPED, DJANGO_CVE]}, "").exit_code == 1


def test_no_known_vulnerability_passes():
    verdict = judge({"dependencies": [CLEAN], "fixes": []}, "")

    assert verdict.exit_code == 0
    assert "WARNING" not in verdict.message


def test_when_the_service_knows_none_of_the_releases_it_warns_and_passes():
    verdict = judge({"dependencies": [SKIPPED, SKIPPED], "fixes": []}, "")

    assert verdict.exit_code == 0
    assert verdict.message.startswith("WARNING: none of the 2 dependencies could be audited")


def test_when_the_service_is_unreachable_it_warns_and_passes():
    stderr = "ERROR:pip_audit._cli:ConnectionError: Max retries exceeded with url: /pypi/django"

    verdict = judge(None, stderr)

    assert verdict.exit_code == 0
    assert verdict.message.startswith("WARNING")


def test_any_other_failure_of_pip_audit_fails():
    verdict = judge(None, "ERROR: requirements.txt: invalid requirement 'django=='")

    assert verdict.exit_code == 1
    assert "invalid requirement" in verdict.message
