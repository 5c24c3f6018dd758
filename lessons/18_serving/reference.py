#!/usr/bin/env python3
"""18_serving in Python: the same server idea (one worker thread, requests batched for at most
--max-wait-ms up to --max-batch), on the standard library's ThreadingHTTPServer, serving the same
TorchScript file; the same load generator, table and RESULT line as main.cpp.

    python lessons/18_serving/reference.py --threads 2           # measure, batching on and off
    python lessons/18_serving/reference.py --serve --port 8080   # serve until Ctrl-C
    python lessons/18_serving/reference.py --golden              # write lessons/18_serving/golden.json

The model comes from export.py (the build runs it into build/<preset>/exported/18_serving).
"""
import http.client
import http.server
import json
import math
import pathlib
import queue
import signal
import socket
import sys
import threading
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import course_common  # noqa: E402

LESSON = "18_serving"
MODELS = ROOT / "build" / "release" / "exported" / LESSON


# ---- the batcher (main.cpp's Batcher) ---------------------------------------------------------
class Batcher:
    def __init__(self, model, max_batch, max_wait_s):
        self.model, self.max_batch, self.max_wait_s = model, max_batch, max_wait_s
        self.jobs = queue.Queue()
        self.batches = self.images = 0
        self.worker = threading.Thread(target=self.run, daemon=True)
        self.worker.start()

    def submit(self, image):
        """image (1, 28, 28) -> a Future of its probabilities (10,)."""
        from concurrent.futures import Future
        future = Future()
        self.jobs.put((image, future, time.monotonic()))
        return future

    def stop(self):
        self.jobs.put(None)
        self.worker.join(timeout=10)

    def run(self):
        while True:
            first = self.jobs.get()
            if first is None:
                return
            jobs, deadline = [first], first[2] + self.max_wait_s
            while len(jobs) < self.max_batch:
                try:
                    job = self.jobs.get(timeout=max(deadline - time.monotonic(), 0))
                except queue.Empty:
                    break
                if job is None:
                    self.jobs.put(None)
                    break
                jobs.append(job)
            try:
                with torch.inference_mode():
                    probabilities = self.model(torch.stack([j[0] for j in jobs]))  # (B, 10)
                for row, (_, future, _) in zip(probabilities, jobs):
                    future.set_result(row)
            except Exception as error:  # noqa: BLE001 every caller hears why
                for _, future, _ in jobs:
                    future.set_exception(error)
            self.batches += 1
            self.images += len(jobs)


# ---- JSON in, JSON out ------------------------------------------------------------------------
class BadRequest(Exception):
    pass


def parse_image(body):
    try:
        request = json.loads(body)
    except ValueError:
        raise BadRequest('the body is not JSON; send {"image": [[28 pixels], ... 28 rows]}')
    if not isinstance(request, dict) or "image" not in request:
        raise BadRequest('expected a JSON object with "image": 28 rows of 28 pixels in [0, 1]')
    rows = request["image"]
    if not isinstance(rows, list) or len(rows) != 28 or any(
            not isinstance(r, list) or len(r) != 28 for r in rows):
        raise BadRequest('"image" must be an array of 28 rows of 28 pixels')
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) for r in rows for v in r):
        raise BadRequest("every pixel must be a number in [0, 1]")
    image = torch.tensor(rows, dtype=torch.float32).unsqueeze(0)
    if not bool(((image >= 0) & (image <= 1)).all()):
        raise BadRequest("pixels must be in [0, 1]; divide 0-255 by 255")
    return image


def answer_json(probabilities):
    label = int(probabilities.argmax())
    return json.dumps({"class": label, "name": course_common.FASHION_CLASSES[label],
                       "probabilities": probabilities.tolist()})


def make_server(batcher, port, max_body):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as cpp-httplib
        disable_nagle_algorithm = True  # TCP_NODELAY, as set_tcp_nodelay(true)
        timeout = 2  # the read timeout: a slow client is dropped

        def reply(self, status, payload):
            data = payload.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path != "/health":
                return self.reply(404, json.dumps({"error": "no such endpoint"}))
            self.reply(200, json.dumps({"status": "ok", "batches": batcher.batches,
                                        "images": batcher.images}))

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            if length > max_body:
                self.close_connection = True
                return self.reply(413, json.dumps({"error": f"the body is larger than {max_body} "
                                                   "bytes"}))
            try:
                image = parse_image(self.rfile.read(length))
                self.reply(200, answer_json(batcher.submit(image).result(timeout=10)))
            except BadRequest as error:
                self.reply(400, json.dumps({"error": str(error)}))

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return server


# ---- the load generator (load.h) --------------------------------------------------------------
def percentile(values, p):
    """Nearest rank, as load.h's percentile."""
    values = sorted(values)
    rank = math.ceil(p / 100 * len(values))
    return values[min(max(rank, 1), len(values)) - 1]


def run_load(port, bodies, expected, clients, requests):
    counter, lock = iter(range(requests)), threading.Lock()
    latencies, failed, agreed = [], [0], [0]
    start = threading.Event()

    def connect():  # one after the other, as load.h: the listen backlog is 5
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.request("GET", "/health")
        connection.getresponse().read()
        return connection

    def client(connection):
        start.wait(timeout=30)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            k = i % len(bodies)
            clock = time.perf_counter()
            try:
                connection.request("POST", "/predict", bodies[k],
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
                ok = response.status == 200
            except OSError:
                ok = False
            with lock:
                latencies.append((time.perf_counter() - clock) * 1e3)
                failed[0] += not ok
                agreed[0] += ok and json.loads(answer)["class"] == expected[k]

    threads = [threading.Thread(target=client, args=(connect(),)) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    wall = time.perf_counter()
    start.set()
    for t in threads:
        t.join(timeout=120)
    seconds = time.perf_counter() - wall
    return dict(clients=clients, requests=requests, failed=failed[0], agreed=agreed[0],
                rps=(requests - failed[0]) / seconds, p50=percentile(latencies, 50),
                p95=percentile(latencies, 95), p99=percentile(latencies, 99))


def golden():
    """The fixed model of export.py on fixed images: what the C++ server must answer."""
    import golden as golden_file
    from export import Served, fixed_cnn, fixed_pixels
    pixels = fixed_pixels(3)  # (3, 1, 28, 28)
    with torch.no_grad():
        probabilities = Served(fixed_cnn())(pixels)  # (3, 10)
    golden_file.write(LESSON, {"fixed": {"inputs": {"pixels": pixels},
                                         "outputs": {"probabilities": probabilities}}})


def main():
    parser = course_common.parser(__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(MODELS / "classifier.pt"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=2)
    parser.add_argument("--max-body", type=int, default=64 * 1024)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", default="1,4,16,64")
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()
    if args.golden:
        return golden()
    if args.smoke:
        args.requests = min(args.requests, 200)
    device, out = course_common.begin(args, LESSON)
    model = torch.jit.load(args.model, map_location="cpu").eval()
    print(f"model: {args.model} (TorchScript: lesson 08's CNN, ten classes)")
    if args.serve:
        batcher = Batcher(model, args.max_batch, args.max_wait_ms / 1000)
        server = make_server(batcher, args.port, args.max_body)
        print(f"serving http://127.0.0.1:{server.server_address[1]}/predict and /health; "
              "Ctrl-C or SIGTERM stops", flush=True)
        stop = threading.Event()
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, lambda *_: stop.set())
        while not stop.wait(0.05):
            pass
        server.shutdown()  # no new requests; the ones in flight finish on their threads
        batcher.stop()
        print(f"stopped after answering {batcher.images} images in {batcher.batches} batches")
        return
    images, labels = course_common.load_fashion(args, train=False)
    count = min(images.shape[0], 1000)
    pixels = images[:count].float() / 255
    bodies = [json.dumps({"image": p.tolist()}).encode() for p in pixels]
    with torch.inference_mode():
        direct = model(pixels.unsqueeze(1)).argmax(1)
    expected = direct.tolist()
    accuracy = (direct == labels[:count]).double().mean().item()
    print(f"requests: {count} test images as JSON bodies of about {len(bodies[0])} bytes; the "
          f"model's accuracy on them {accuracy:.4f}")
    rows = []
    for batching in (True, False):
        batcher = Batcher(model, args.max_batch if batching else 1,
                          args.max_wait_ms / 1000 if batching else 0)
        server = make_server(batcher, args.port, args.max_body)
        print(f"server: http://127.0.0.1:{server.server_address[1]} | " +
              (f"batching on: up to {args.max_batch} images, waiting at most {args.max_wait_ms:g} "
               "ms" if batching else "batching off: each request alone"))
        for clients in map(int, args.clients.split(",")):
            rows.append(dict(batching="on" if batching else "off",
                             **run_load(server.server_address[1], bodies, expected, clients,
                                        args.requests)))
        server.shutdown()
        batcher.stop()
    print("batching | clients | requests | failed | same class | req/s   | p50 ms | p95 ms | "
          "p99 ms")
    for r in rows:
        print(f"{r['batching']:<8} | {r['clients']:>7} | {r['requests']:>8} | {r['failed']:>6} | "
              f"{r['agreed']:>10} | {r['rps']:>7.0f} | {r['p50']:>6.2f} | {r['p95']:>6.2f} | "
              f"{r['p99']:>6.2f}")
    levels = len(args.clients.split(","))
    course_common.result_line(LESSON, clients=rows[levels - 1]["clients"],
                              batched_rps=rows[levels - 1]["rps"], unbatched_rps=rows[-1]["rps"])


if __name__ == "__main__":
    main()
