"""The scanner's pure parts: version ordering per ecosystem, OSV range evaluation, CVSS scores,
and the account-settings table against the installed botocore model."""

from __future__ import annotations

import re

import botocore.session
import pytest

from ecr_emulator.features.scanning.cvss import v2_score, v3_score
from ecr_emulator.features.scanning.inventory import Package
from ecr_emulator.features.scanning.osv import VulnDb, affects, ecosystem_matches
from ecr_emulator.features.scanning.versions import compare
from ecr_emulator.store.account_settings import SETTINGS


@pytest.mark.parametrize("scheme, lower, higher", [
    ("dpkg", "1.0~rc1", "1.0"),
    ("dpkg", "1.0", "1.0+b1"),
    ("dpkg", "2.36-9+deb12u3", "2.36-9+deb12u10"),
    ("dpkg", "9.9", "1:0.1"),
    ("dpkg", "1.2.13.dfsg-1", "1:1.2.11.dfsg-2"),
    ("dpkg", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1"),
    ("dpkg", "1.0a", "1.0b"),
    ("rpm", "1.0~rc1-1", "1.0-1"),
    ("rpm", "7.76.1-26.el9", "7.76.1-29.el9"),
    ("rpm", "1.0-1", "1.0^git1-1"),
    ("rpm", "2.0a", "2.0.1"),
    ("rpm", "5.1.8-6.el9", "1:0.1-1"),
    ("apk", "1.36.1-r15", "1.36.1-r16"),
    ("apk", "3.1.4_rc1-r0", "3.1.4-r0"),
    ("apk", "3.1.4-r0", "3.1.4_p1-r0"),
    ("apk", "1.2.9-r0", "1.2.10-r0"),
    ("apk", "1.2.4-r4", "1.2.4_git20230717-r4"),  # _git is a post-release suffix
    ("apk", "1.2a-r0", "1.2b-r0"),
    ("pep440", "2.9.0", "2.31.0"),
    ("pep440", "2.31.0rc1", "2.31.0"),
    ("pep440", "1.0.post1", "1.1.dev0"),
    ("semver", "4.17.20", "4.17.21"),
    ("semver", "1.0.0-alpha.2", "1.0.0-alpha.10"),
    ("semver", "1.0.0-rc.1", "1.0.0"),
    ("semver", "1.9.9", "1.10.0"),
])
def test_version_order(scheme, lower, higher):
    assert compare(scheme, lower, higher) < 0
    assert compare(scheme, higher, lower) > 0
    assert compare(scheme, lower, lower) == 0


def _package(version: str, scheme: str = "pep440") -> Package:
    return Package("demo", version, "PYTHONPKG", "PyPI", scheme, "x", "sha256:0")


@pytest.mark.parametrize("events, version, expected", [
    ([{"introduced": "0"}, {"fixed": "2.0"}], "1.9", (True, "2.0")),
    ([{"introduced": "0"}, {"fixed": "2.0"}], "2.0", (False, None)),
    ([{"introduced": "1.5"}, {"fixed": "2.0"}], "1.4", (False, None)),
    ([{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.3"}], "1.5", (False, None)),
    ([{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.3"}], "2.1", (True, "2.3")),
    ([{"introduced": "0"}, {"last_affected": "1.4"}], "1.4", (True, None)),
    ([{"introduced": "0"}, {"last_affected": "1.4"}], "1.4.1", (False, None)),
    ([{"introduced": "1.0"}, {"limit": "1.3"}], "1.3", (False, None)),
    ([{"introduced": "0"}], "99", (True, None)),
])
def test_osv_range_events(events, version, expected):
    affected = {"package": {"ecosystem": "PyPI", "name": "demo"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}]}
    assert affects(affected, _package(version)) == expected


def test_explicit_versions_and_git_ranges():
    affected = {"versions": ["1.0.3"], "ranges": [{"type": "GIT", "events": [{"introduced": "0"}]}]}
    assert affects(affected, _package("1.0.3"))[0] is True
    assert affects(affected, _package("1.0.4"))[0] is False


def test_ecosystem_releases():
    assert ecosystem_matches("Debian:12", "Debian:12")
    assert ecosystem_matches("Debian", "Debian:12")
    assert not ecosystem_matches("Debian:11", "Debian:12")
    assert ecosystem_matches("Ubuntu:22.04:LTS", "Ubuntu:22.04")
    assert ecosystem_matches("Alpine:v3.19", "Alpine:v3.19")
    assert not ecosystem_matches("Alpine:v3.18", "Alpine:v3.19")
    assert not ecosystem_matches("PyPI", "npm")


def test_python_names_are_normalized_and_withdrawn_records_ignored():
    db = VulnDb([
        {"id": "GHSA-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "Zope_Interface"},
                                       "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]},
        {"id": "GHSA-2", "withdrawn": "2024-01-01T00:00:00Z",
         "affected": [{"package": {"ecosystem": "PyPI", "name": "zope-interface"}, "versions": ["5.0"]}]},
    ])
    package = Package("zope.interface", "5.0", "PYTHONPKG", "PyPI", "pep440", "x", "sha256:0")
    assert [f.vulnerability_id for f in db.match([package])] == ["GHSA-1"]


@pytest.mark.parametrize("vector, score", [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 6.5),
    ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
])
def test_cvss3_base_scores(vector, score):
    assert v3_score(vector) == score


def test_cvss2_base_scores():
    assert v2_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") == 7.5
    assert v2_score("AV:N/AC:M/Au:N/C:N/I:P/A:N") == 4.3
    assert v3_score("garbage") is None


def test_account_settings_are_those_the_model_documents():
    model = botocore.session.get_session().get_service_model("ecr")
    put = model.operation_model("PutAccountSetting").input_shape.members
    names = set(re.findall(r"<code>([A-Z_]+)</code>", put["name"].documentation))
    assert names == set(SETTINGS)
    documented = set(re.findall(r"<code>([A-Z0-9_]+)</code>", put["value"].documentation))
    assert documented == {v for s in SETTINGS.values() for v in s.values}


def test_the_demo_feed_ships_and_matches():
    from ecr_emulator.features.scanning import DEMO_FEED

    db = VulnDb.load(DEMO_FEED)
    assert db.count == 4
    glibc = Package("libc6", "2.36-9+deb12u1", "DPKG", "Debian:12", "dpkg", "var/lib/dpkg/status", "sha256:0",
                    source_name="glibc")
    (finding,) = db.match([glibc])
    assert (finding.vulnerability_id, finding.severity, finding.fixed_version) == ("CVE-2023-4911", "HIGH",
                                                                                    "2.36-9+deb12u3")
    assert finding.cvss[0].score == 7.8


def test_a_vuln_db_that_is_not_a_directory_is_refused(tmp_path):
    from ecr_emulator.settings import SettingError, Settings

    with pytest.raises(SettingError, match="--vuln-db / ECR_EMULATOR_VULN_DB"):
        Settings.from_env({"ECR_EMULATOR_VULN_DB": str(tmp_path / "missing")})
    assert Settings.from_env({"ECR_EMULATOR_VULN_DB": str(tmp_path)}).vuln_db == str(tmp_path)
