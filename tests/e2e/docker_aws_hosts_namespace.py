"""Run inside ``unshare --mount --net`` by test_docker_aws_hosts.py (not a test module itself).

The seed's two workflows, verbatim, with the docker CLI: in a private network namespace (only
``lo``) and mount namespace (a private ``/etc/hosts`` naming ECR's API and registry hosts,
``public.ecr.aws`` and ECR Public's API host), the emulator serves ``--tls --port 443
--uri-style aws`` on ONE listener; the docker CLI talks to ``podman system service`` (the
Docker-compatible API; podman does the registry work, trusting the emulator's CA through
``SSL_CERT_FILE``) and the AWS CLI v2 talks to the API hosts. Then:

1. private: ``aws ecr get-login-password | docker login ... <account>.dkr.ecr.<region>.amazonaws.com``,
   build, tag, push, remove, pull;
2. public: ``aws ecr-public get-login-password --region us-east-1 | docker login ... public.ecr.aws``,
   tag, push to ``public.ecr.aws/<alias>/<image>:<tag>``, ``docker logout``, anonymous pull;
3. ``credHelpers`` with ``ecr-login`` for both hosts: push and pull with no login (the helper
   asks the API for tokens and caches them in ``~/.ecr/cache.json``);
4. the emulator restarts (no ``--state-dir``): the helper's cached token still opens the registry.

Prints one JSON line of steps, each with its command's exit status and output tail; exits 0
only if every step worked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from ecr_emulator.testing import ServerProcess, stop_process
from tests.e2e.ecr_login_namespace import bring_up_loopback

ACCOUNT, REGION = "123456789012", "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
HOSTS = (f"api.ecr.{REGION}.amazonaws.com", REGISTRY, "public.ecr.aws", f"api.ecr-public.{REGION}.amazonaws.com")
AWS = "/usr/bin/aws"  # AWS CLI v2, Debian's: first on the PATH the commands run with


class Steps:
    """Runs commands, keeping what each did; stops at the first failure."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.done: list[dict] = []

    def run(self, name: str, command: str, stdin: str | None = None, timeout: float = 180) -> str:
        done = subprocess.run(["/bin/sh", "-c", command], input=stdin, capture_output=True, text=True,
                              timeout=timeout, env=self.env)
        self.done.append({"step": name, "command": command, "rc": done.returncode,
                          "output": (done.stdout + done.stderr)[-1500:]})
        if done.returncode != 0:
            raise StepFailed(name)
        return done.stdout


class StepFailed(Exception):
    pass


def private_hosts(work: str) -> None:
    hosts = os.path.join(work, "hosts")
    with open(hosts, "w") as f:
        f.write(f"127.0.0.1 localhost {' '.join(HOSTS)}\n::1 localhost\n")
    subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True)


def podman_service(work: str, ca: str) -> subprocess.Popen:
    """``podman system service`` on a socket in ``work``, with storage of its own (vfs), so
    nothing of the machine's podman is used or touched."""
    socket_path = os.path.join(work, "podman.sock")
    run = tempfile.mkdtemp(prefix="ecr-podman-")  # podman wants a run root of at most 50 characters
    env = {"PATH": os.environ["PATH"], "HOME": work, "SSL_CERT_FILE": ca, "XDG_RUNTIME_DIR": run,
           "XDG_CONFIG_HOME": os.path.join(work, "config")}
    log = open(os.path.join(work, "podman.log"), "wb")
    process = subprocess.Popen(
        ["podman", "--root", os.path.join(work, "storage"), "--runroot", os.path.join(run, "storage"),
         "--storage-driver", "vfs", "--tmpdir", run, "system", "service", "--time", "0",
         f"unix://{socket_path}"], stdout=log, stderr=subprocess.STDOUT, env=env)
    process.run_dir = run
    deadline = time.monotonic() + 60
    while not os.path.exists(socket_path):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("podman system service did not start:\n" + open(log.name).read())
        time.sleep(0.05)
    return process


def serve(work: str) -> ServerProcess:
    return ServerProcess("--no-access-log", "--tls", "--tls-dir", os.path.join(work, "tls"), "--port", "443",
                         "--public-port", "0", "--uri-style", "aws",
                         env={"XDG_CACHE_HOME": os.path.join(work, "cache")}).start()


def workflows(steps: Steps, work: str, restart) -> None:
    context = os.path.join(work, "build")
    os.makedirs(context)
    with open(os.path.join(context, "hello.txt"), "w") as f:
        f.write("hello from the seed's workflow\n")
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write("FROM scratch\nCOPY hello.txt /hello.txt\n")
    steps.run("build", f"docker build -t hello-world:latest {context}")

    # 1. the private workflow
    steps.run("create private repository", "aws ecr create-repository --repository-name hello-world")
    steps.run("private login", f"aws ecr get-login-password --region {REGION} | "
                               f"docker login --username AWS --password-stdin {REGISTRY}")
    steps.run("private tag", f"docker tag hello-world:latest {REGISTRY}/hello-world:latest")
    steps.run("private push", f"docker push {REGISTRY}/hello-world:latest")
    steps.run("private remove", f"docker rmi {REGISTRY}/hello-world:latest")
    steps.run("private pull", f"docker pull {REGISTRY}/hello-world:latest")

    # 2. the public workflow
    uri = json.loads(steps.run("create public repository", "aws ecr-public create-repository "
                                                            "--repository-name hello-public --region us-east-1")
                     )["repository"]["repositoryUri"]
    steps.done[-1]["repositoryUri"] = uri
    steps.run("public login", "aws ecr-public get-login-password --region us-east-1 | "
                              "docker login --username AWS --password-stdin public.ecr.aws")
    steps.run("public tag", f"docker tag hello-world:latest {uri}:latest")
    steps.run("public push", f"docker push {uri}:latest")
    steps.run("public logout", "docker logout public.ecr.aws")
    steps.run("public remove", f"docker rmi {uri}:latest")
    steps.run("anonymous public pull", f"docker pull {uri}:latest")
    steps.run("catalog shows the image", "aws ecr-public describe-images --repository-name hello-public "
                                         "--region us-east-1 --query 'imageDetails[0].imageTags'")

    # 3. credHelpers with ecr-login for both hosts: no login at all
    steps.run("private logout", f"docker logout {REGISTRY}")
    with open(os.path.join(work, ".docker", "config.json"), "w") as f:
        json.dump({"credHelpers": {REGISTRY: "ecr-login", "public.ecr.aws": "ecr-login"}}, f)
    steps.run("helper private tag", f"docker tag hello-world:latest {REGISTRY}/hello-world:helped")
    steps.run("helper private push", f"docker push {REGISTRY}/hello-world:helped")
    steps.run("helper public tag", f"docker tag hello-world:latest {uri}:helped")
    steps.run("helper public push", f"docker push {uri}:helped")
    steps.run("helper private remove", f"docker rmi {REGISTRY}/hello-world:helped")
    steps.run("helper private pull", f"docker pull {REGISTRY}/hello-world:helped")
    steps.run("helper cached a token", f"test -s {work}/.ecr/cache.json")

    # 4. the emulator restarts; the helper's cached token (12 h) must still open the registry
    restart()
    steps.run("private repository after restart", "aws ecr create-repository --repository-name after-restart")
    steps.run("tag after restart", f"docker tag hello-world:latest {REGISTRY}/after-restart:v1")
    steps.run("cached-token push after restart", f"docker push {REGISTRY}/after-restart:v1")


def main(work: str) -> int:
    bring_up_loopback()
    private_hosts(work)
    result: dict = {"docker": shutil.which("docker")}
    server = serve(work)
    ca = os.path.join(work, "tls", "ca.pem")
    try:
        podman = podman_service(work, ca)
    except RuntimeError as error:
        server.stop()
        print(json.dumps({**result, "ok": False, "failed": str(error)}))
        return 1
    os.makedirs(os.path.join(work, ".docker"), exist_ok=True)
    os.makedirs(os.path.join(work, "bin"))
    os.symlink(AWS, os.path.join(work, "bin", "aws"))
    env = {"PATH": os.path.join(work, "bin") + os.pathsep + os.environ["PATH"], "HOME": work, "DOCKER_HOST": f"unix://{work}/podman.sock",
           "AWS_ACCESS_KEY_ID": ACCOUNT, "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": REGION,
           "AWS_DEFAULT_REGION": REGION, "AWS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_PAGER": ""}
    steps = Steps(env)
    servers = [server]

    def restart() -> None:
        servers[-1].stop()
        servers.append(serve(work))

    try:
        workflows(steps, work, restart)
        result["ok"] = True
    except (StepFailed, subprocess.TimeoutExpired, RuntimeError) as error:
        result["ok"] = False
        result["failed"] = str(error)
    finally:
        stop_process(podman, timeout=20)
        shutil.rmtree(podman.run_dir, ignore_errors=True)
        result["server_output"] = "".join(servers[-1].output)[-2000:]
        for each in servers:
            each.stop()
    result["steps"] = steps.done
    if not result["ok"]:
        result["podman_log"] = open(os.path.join(work, "podman.log"), errors="replace").read()[-3000:]
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
