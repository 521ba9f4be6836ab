"""How long persistence takes: one save (capture + encode + atomic write) and one restore of a
state with many images, and an export of it; the figures bound what a kill -9 loses
(README, *Keeping state*: at most --save-interval plus one save). Never part of the tests.

    .venv/bin/python scripts/bench_persistence.py [--images 5000 --repos 50]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ecr_emulator.app import create_app  # noqa: E402
from ecr_emulator.features.persistence import saver_of  # noqa: E402
from ecr_emulator.settings import Settings  # noqa: E402
from ecr_emulator.store import Door, repositories, tarball  # noqa: E402
from ecr_emulator.store.image_door import complete_upload  # noqa: E402
from ecr_emulator.testing.synthetic import make_image  # noqa: E402


def seed(app, images: int, repos: int) -> None:
    backend = app.backend
    state = backend.private("123456789012", "us-east-1")
    now = backend.clock.now()
    with backend.lock:
        repos_made = [repositories.new_repository(state, f"team/repo-{r}", now) for r in range(repos)]
    for i in range(images):
        repo = repos_made[i % repos]
        image = make_image(f"bench-{i}", layers=2, layer_bytes=256)
        for digest, data in image.blobs.items():
            session = backend.uploads.start(repo.account, repo.region, repo.name, now)
            session.append(data)
            complete_upload(backend, repo, session, digest)
        with backend.lock:
            backend.put_image(repo, image.manifest, door=Door.API, tag=f"v{i}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--repos", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        app = create_app(Settings(state_dir=directory, save_interval=0, access_log=False))
        seed(app, args.images, args.repos)
        saver = saver_of(app)
        started = time.perf_counter()
        saver.save()
        first = time.perf_counter() - started
        started = time.perf_counter()
        saver.save()
        unchanged = time.perf_counter() - started
        from ecr_emulator.store import snapshot

        started = time.perf_counter()
        snapshot.capture(app.backend, app.tokens.secret)
        held = time.perf_counter() - started
        size = os.path.getsize(os.path.join(directory, "state.json"))

        started = time.perf_counter()
        data, blobs = snapshot.capture(app.backend, app.tokens.secret)
        out = io.BytesIO()
        for piece in tarball.export_stream(data, blobs):
            out.write(piece)
        export = time.perf_counter() - started
        app.close()
        started = time.perf_counter()
        again = create_app(Settings(state_dir=directory, save_interval=0, access_log=False))
        restore = time.perf_counter() - started
        assert len(again.backend.all_repositories()) == args.repos
    print(f"{args.images} images in {args.repos} repositories, {len(blobs)} blobs")
    print(f"save (changed):   {first * 1000:8.1f} ms   state.json {size / 1e6:.1f} MB, "
          f"fsync of {len(blobs)} new blob files included")
    print(f"save (unchanged): {unchanged * 1000:8.1f} ms   (capture + compare, nothing written)")
    print(f"lock held:        {held * 1000:8.1f} ms   (the capture, under Backend.lock; requests wait)")
    print("idle server:          0 ms   (the periodic save sees the lock untouched and skips)")
    print(f"export (tar):     {export * 1000:8.1f} ms   {out.tell() / 1e6:.1f} MB")
    print(f"restore on start: {restore * 1000:8.1f} ms   (includes the first save after it)")


if __name__ == "__main__":
    main()
