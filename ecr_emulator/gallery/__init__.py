"""The gallery: web pages served by the emulator (server-rendered HTML, a stylesheet and a small
copy-to-clipboard script of its own; nothing is loaded from the network).

- ``/gallery``: the ECR Public Gallery's counterpart: search public repositories by name and
  description, filter by operating system, architecture and verified account; each card shows
  the publisher (verified badge), logo, downloads, badges and when it was last updated;
- ``/gallery/public/<alias>/<repository>``: About, Usage and Image tags tabs from the catalog
  data (Markdown rendered safely, ``markdown.py``), with a copyable pull command;
- ``/gallery/private/...``: a read-only browser of the private registries (accounts, regions,
  repositories, images, tags, sizes, scan status);
- ``GET /`` from a browser (``Accept: text/html``) redirects to ``/gallery``.

Every page carries a Content-Security-Policy that allows scripts, styles and images from the
emulator only, and no inline script.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, url_for

from ..addressing.ecr_public import account_of
from . import catalog, wording
from .markdown import render

GALLERY = Blueprint("gallery", __name__, template_folder="templates", static_folder="static",
                    static_url_path="/gallery/static")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
TABS = ("about", "usage", "tags")


def _emulator():
    return current_app.extensions["ecr_emulator"]


@GALLERY.after_request
def _secure(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@GALLERY.app_template_filter("size")
def _size(value: int) -> str:
    """Bytes in the units the ECR console uses (powers of 1024)."""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"


@GALLERY.app_template_filter("when")
def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


GALLERY.add_app_template_filter(wording.plural, "plural")
GALLERY.add_app_template_filter(wording.downloads, "downloads")
GALLERY.add_app_template_filter(wording.ago, "ago")


def _missing(message: str):
    return render_template("not_found.html", message=message), 404


@GALLERY.route("/", methods=["GET", "HEAD"])
def root():
    """A browser lands on the gallery; other clients get a JSON 404 that says where things are."""
    accept = request.accept_mimetypes
    if accept["text/html"] > accept["application/json"]:
        return redirect(url_for("gallery.public_index"), code=302)
    return jsonify(message="ecr-emulator: the AWS JSON API is POST /, the registry /v2/, the gallery /gallery"), 404


@GALLERY.route("/gallery/", methods=["GET", "HEAD"])
@GALLERY.route("/gallery", methods=["GET", "HEAD"])
def public_index():
    emulator = _emulator()
    query = request.args.get("q", "").strip()
    architectures = [v for v in request.args.getlist("arch") if v]
    systems = [v for v in request.args.getlist("os") if v]
    verified_only = request.args.get("verified") == "1"
    every = catalog.public_repositories(emulator.backend, emulator.settings)
    found = catalog.search(every, query, architectures, systems, verified_only)
    return render_template("gallery.html", repos=found, total=len(every), query=query,
                           architectures=architectures, systems=systems, verified_only=verified_only,
                           all_architectures=catalog.ARCHITECTURES, all_systems=catalog.OPERATING_SYSTEMS,
                           now=emulator.backend.clock.now())


@GALLERY.route("/gallery/public/<alias>/<path:name>", methods=["GET", "HEAD"])
def public_repository(alias: str, name: str):
    emulator = _emulator()
    account = account_of(emulator.settings, alias)
    repo = catalog.public_repository(emulator.backend, emulator.settings, account, name) if account else None
    if repo is None:
        return _missing(f"No public repository {alias}/{name}.")
    tab = request.args.get("tab", "about")
    if tab not in TABS:
        tab = "about"
    host = emulator.public_host(request.environ, request.host)
    reference = f"{host}/{repo.path}"
    return render_template("repository.html", repo=repo, tab=tab, reference=reference,
                           about=render(repo.about), usage=render(repo.usage), now=emulator.backend.clock.now(),
                           logo=url_for("public_logo", account=repo.account, name=repo.name) if repo.has_logo else None)


@GALLERY.route("/gallery/private", methods=["GET", "HEAD"])
def private_index():
    return render_template("private_registries.html", registries=catalog.private_registries(_emulator().backend))


@GALLERY.route("/gallery/private/<account>/<region>", methods=["GET", "HEAD"])
def private_registry(account: str, region: str):
    repos = catalog.private_repositories(_emulator().backend, account, region)
    if repos is None:
        return _missing(f"No private registry of account {account} in {region} yet.")
    return render_template("private_repositories.html", account=account, region=region, repos=repos)


@GALLERY.route("/gallery/private/<account>/<region>/<path:name>", methods=["GET", "HEAD"])
def private_repository(account: str, region: str, name: str):
    images = catalog.private_images(_emulator().backend, account, region, name)
    if images is None:
        return _missing(f"No private repository {name} in account {account}, {region}.")
    return render_template("private_images.html", account=account, region=region, name=name, images=images)


def register(app: Flask) -> None:
    app.register_blueprint(GALLERY)
