"""The emulator's own endpoints, under ``/_emulator/`` (and moto's ``/moto-api/reset``).

Features add theirs with :func:`admin_route` in their ``install`` (``features/``), so every
emulator endpoint is declared through one place (where cross-origin checks and an admin token
apply to all of them alike). Bodies are read as JSON whatever their Content-Type, so
``curl -d '{"seconds": 60}' .../_emulator/clock/advance`` works as typed.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, Flask, jsonify, request

from . import __version__

ADMIN = Blueprint("emulator_admin", __name__)


def admin_route(rule: str, **options):
    """Register an emulator endpoint at ``/_emulator<rule>`` (a Flask route decorator)."""
    return ADMIN.route("/_emulator" + rule, **options)


def json_body() -> dict | None:
    """The request body as a JSON object (whatever the Content-Type), or None."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def bad_request(message: str, status: int = 400):
    return jsonify(error=message), status


def emulator():
    from flask import current_app

    return current_app.extensions["ecr_emulator"]


@admin_route("/health", methods=["GET"])
def health():
    return jsonify(status="ok", version=__version__)


@admin_route("/reset", methods=["POST"])
def reset():
    emulator().backend.reset()
    return jsonify(status="ok")


@admin_route("/clock", methods=["GET"])
def clock():
    return jsonify(now=emulator().backend.clock.now().isoformat())


@admin_route("/clock/advance", methods=["POST"])
def advance_clock():
    """Move the emulator's clock forward (push times, token expiry...): no sleeping in tests."""
    body = json_body()
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < 1e10:
        return bad_request('send {"seconds": <a number >= 0>}')
    backend = emulator().backend
    backend.clock.advance(timedelta(seconds=seconds))
    return jsonify(now=backend.clock.now().isoformat())


def register(app: Flask) -> None:
    app.register_blueprint(ADMIN)
    app.add_url_rule("/moto-api/reset", "moto_reset", reset, methods=["POST"])
