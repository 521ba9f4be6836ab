#!/usr/bin/env bash
# Build the wheel and try it alone in a clean virtualenv (no editable install, no source tree
# on sys.path, no test extras): it serves and answers /_emulator/health, the gallery's
# templates and the scanner's demo feed are in it, `mock_ecr` imports and answers, and both
# console scripts run. Called by .ci/run; `bash scripts/check_wheel.sh` runs it by hand.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check_wheel: $*" >&2; [ -f "$work/server.log" ] && cat "$work/server.log" >&2; exit 1; }

"$python" -m pip wheel -q --no-deps -w "$work/dist" "$root"
wheel=$(ls "$work"/dist/ecr_emulator-*.whl)
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel"
bin="$work/venv/bin"
cd "$work"  # nothing of the source tree is importable from here

# the runtime only: none of the test tools came along
for module in pytest moto selenium; do
  if "$bin/python" -c "import $module" 2>/dev/null; then fail "$module is installed with the runtime"; fi
done

version=$("$bin/ecr-emulator" --version)
expected=$("$bin/python" -c 'from importlib.metadata import version; print(version("ecr-emulator"))')
[ "$version" = "ecr-emulator $expected" ] || fail "--version printed '$version'"
"$bin/ecr-emulator" >/dev/null || fail "a bare ecr-emulator did not exit 0"
"$bin/ecr-emulator" operations >/dev/null || fail "ecr-emulator operations failed"
"$bin/docker-credential-ecr-emulator" version | grep -q "docker-credential-ecr-emulator" \
  || fail "docker-credential-ecr-emulator version failed"
[ "$(ECR_EMULATOR_URL= "$bin/docker-credential-ecr-emulator" list)" = "{}" ] \
  || fail "docker-credential-ecr-emulator list failed"

"$bin/ecr-emulator" serve --host 127.0.0.1 --port 0 --public-port 0 >"$work/server.log" 2>&1 &
server=$!
url=
for _ in $(seq 1 300); do  # up to 30 s for the announcement
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || fail "the server exited"
  sleep 0.1
done
[ -n "$url" ] || fail "the server did not announce itself"
curl -fsS "$url/_emulator/health" >/dev/null || fail "no answer from $url/_emulator/health"
curl -fsS "$url/gallery" | grep -qi "<html" || fail "the gallery's templates are missing from the wheel"
"$bin/python" - "$url" <<'PY' || fail "the wheel's scanner or control plane failed"
import sys, json, urllib.request
from importlib.resources import files
feed = files("ecr_emulator.features.scanning") / "demo_feed"
assert any(p.name.endswith(".json") for p in feed.iterdir()), "the demo feed is missing"
request = urllib.request.Request(sys.argv[1] + "/", data=b"{}", headers={
    "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
    "Content-Type": "application/x-amz-json-1.1"})
with urllib.request.urlopen(request, timeout=30) as answer:
    assert json.load(answer)["repositories"] == []
PY
kill "$server"; wait "$server" || true; server=
grep -q "ecr-emulator stopped" "$work/server.log" || fail "no stop line"

"$bin/python" - <<'PY' || fail "mock_ecr failed from the wheel"
import boto3
from ecr_emulator import mock_ecr
with mock_ecr():
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName="from-the-wheel")
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["from-the-wheel"]
PY
echo "check_wheel: $(basename "$wheel") serves, answers health, mock_ecr and both console scripts work"
