import http.server
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from mnist import data


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory) -> Path:
    """A learnable MNIST-shaped dataset: each digit class lights up its own rows."""
    folder = tmp_path_factory.mktemp("tiny-mnist")
    rng = np.random.default_rng(0)
    for split, count in (("train", 300), ("test", 100)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 * label : 2 * label + 3] = 255
        images_name, labels_name = data.FILES[split]
        data.write_idx(folder / images_name, images)
        data.write_idx(folder / labels_name, labels)
    return folder


class Server:
    """A local HTTP server over a folder, recording the paths requested."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(Handler, directory=str(root))
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Serves the files put in tmp_path/"served" on 127.0.0.1 (anything else is a 404)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    root = tmp_path / "served"
    root.mkdir()
    srv = Server(root)
    thread = threading.Thread(target=srv.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()
    thread.join()
