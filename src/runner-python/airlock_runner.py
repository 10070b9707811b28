"""Airlock's Python runner: runs one `python` task inside its environment's interpreter.

It speaks the versioned task protocol of the Node runner (src/runner/protocol.ts): one JSON payload on stdin;
structured events (started, heartbeat, result, error), each with a sequence number, as JSON lines on fd 3 when the
supervisor opened it, else on stdout prefixed with NUL "airlock:" and the try's nonce. Everything the task prints
or logs is its log. It never talks to the store, the API or the config: only the payload goes in.
Plain standard library, so it runs in any environment and any base image.
"""
import datetime
import importlib.util
import json
import logging
import os
import stat
import sys
import tempfile
import threading
import traceback
import types

PROTOCOL_VERSION = 1
# Results at or above this size are written to a file and sent by reference (INLINE_RESULT_LIMIT in protocol.ts).
INLINE_RESULT_LIMIT = 1024 * 1024
EVENT_PREFIX = "\x00airlock:"
HEARTBEAT_SECONDS = 10
EXIT_OK, EXIT_FAILED, EXIT_BAD_PAYLOAD = 0, 1, 2


class TaskSkipped(Exception):
    """Raised by a task to end its try as skipped instead of failed."""


class NotGrantedError(Exception):
    """A connection, variable or XCom the task was not granted."""


class MissingValueError(Exception):
    """A granted variable or connection that does not exist."""


class EventChannel:
    """Emits sequenced events; fd 3 when the supervisor opened it, else nonce-tagged stdout lines."""

    def __init__(self, nonce):
        self._seq = 0
        self._lock = threading.Lock()
        self._fd, self._prefix = (3, "") if _is_channel(3) else (1, EVENT_PREFIX + nonce + ":")

    def emit(self, event):
        with self._lock:
            self._seq += 1
            line = self._prefix + json.dumps(dict(event, seq=self._seq), separators=(",", ":")) + "\n"
            if self._fd == 1:
                sys.stdout.flush()
            data = line.encode("utf-8")
            while data:
                data = data[os.write(self._fd, data):]


def _is_channel(fd):
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _env_name(prefix, name):
    return prefix + "".join(c if c.isalnum() else "_" for c in name.upper())


class Grants:
    """Grant-checked access to upstream XComs, variables and connections; the messages match the Node runner's."""

    def __init__(self, payload):
        self._p = payload
        self._where = 'task "%s" of DAG "%s"' % (payload["taskId"], payload["dagId"])
        missing = payload["grants"].get("missing") or {}
        self._missing_vars = set(missing.get("variables") or [])
        self._missing_conns = set(missing.get("connections") or [])

    def xcom_pull(self, task_id):
        p = self._p
        value = p["inputs"]["xcom"].get(task_id)
        if value is not None:
            return read_xcom(value)
        if task_id in p["operator"]["upstream"] or task_id in p["inputs"]["xcom"]:
            return None
        raise NotGrantedError(
            '%s cannot pull the XCom of "%s": only upstream tasks\' results are passed in; make "%s" run before "%s" (%s.then(%s))'
            % (self._where, task_id, task_id, p["taskId"], task_id, p["taskId"]))

    def variable(self, name):
        value = self._p["grants"]["variables"].get(name)
        if value is None and name in self._missing_vars:
            raise MissingValueError('variable "%s" does not exist: set it with `airlock variables set %s <value>` (or %s in the orchestrator\'s environment)'
                                    % (name, name, _env_name("AIRLOCK_VAR_", name)))
        if value is None:
            raise NotGrantedError('variable "%s" was not granted to %s: add grants: { variables: ["%s"] } to the task (or isolated() options), and make sure the variable exists (airlock variables set %s ...)'
                                  % (name, self._where, name, name))
        return value

    def connection(self, conn_id):
        c = self._p["grants"]["connections"].get(conn_id)
        if c is None and conn_id in self._missing_conns:
            raise MissingValueError('connection "%s" does not exist: add it with `airlock connections add %s --uri <uri>` (or %s=<uri> in the orchestrator\'s environment)'
                                    % (conn_id, conn_id, _env_name("AIRLOCK_CONN_", conn_id)))
        if c is None:
            raise NotGrantedError('connection "%s" was not granted to %s: add grants: { connections: ["%s"] } to the task (or isolated() options), and make sure it exists (airlock connections add %s ...)'
                                  % (conn_id, self._where, conn_id, conn_id))
        return Connection(c)


def read_xcom(value):
    """An XCom value that came inline or by reference to a readable JSON file."""
    if "inline" in value:
        return value["inline"]
    with open(value["ref"], "r", encoding="utf-8") as f:
        return json.load(f)


class Connection:
    """A granted connection, with Airflow's attribute names."""

    def __init__(self, c):
        self.conn_id = c.get("id")
        self.conn_type = c.get("type")
        self.host = c.get("host")
        self.port = c.get("port")
        self.login = c.get("login")
        self.password = c.get("password")
        self.schema = c.get("schema")
        self.extra = c.get("extra") or {}
        self.extra_dejson = self.extra

    def __repr__(self):
        # Never the password: a repr ends up in logs.
        return "Connection(conn_id=%r, conn_type=%r, host=%r, port=%r, login=%r, schema=%r)" % (
            self.conn_id, self.conn_type, self.host, self.port, self.login, self.schema)


class _Accessor:
    """`context["var"]` and `context["conn"]`: `.get(name)`, and `.get(name, default)` for values that do not exist."""

    _NO_DEFAULT = object()

    def __init__(self, lookup):
        self._lookup = lookup

    def get(self, name, default=_NO_DEFAULT):
        try:
            return self._lookup(name)
        except MissingValueError:
            if default is _Accessor._NO_DEFAULT:
                raise
            return default


class TaskInstance:
    """`context["ti"]`: the try's identity and `xcom_pull`."""

    def __init__(self, payload, grants):
        self.dag_id = payload["dagId"]
        self.task_id = payload["taskId"]
        self.run_id = payload["runId"]
        self.try_number = payload["tryNumber"]
        self.map_index = payload["context"].get("mapIndex", -1)
        self._grants = grants

    def xcom_pull(self, task_ids=None, task_id=None):
        ids = task_ids if task_ids is not None else task_id
        if isinstance(ids, (list, tuple)):
            return [self._grants.xcom_pull(t) for t in ids]
        if not isinstance(ids, str):
            raise TypeError("xcom_pull needs the id of an upstream task, e.g. ti.xcom_pull(\"extract\")")
        return self._grants.xcom_pull(ids)


def _parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def build_context(payload, grants):
    """The dict passed as the callable's first argument, named as in Airflow."""
    c = payload["context"]
    logical = _parse_time(c["logicalDate"])
    ds = c["ds"]
    ts = logical.isoformat()
    return {
        "dag_id": payload["dagId"],
        "task_id": payload["taskId"],
        "run_id": payload["runId"],
        "try_number": payload["tryNumber"],
        "params": c["params"],
        "conf": c["conf"],
        "ds": ds,
        "ds_nodash": ds.replace("-", ""),
        "ts": ts,
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "logical_date": logical,
        "data_interval_start": _parse_time(c["dataInterval"]["start"]),
        "data_interval_end": _parse_time(c["dataInterval"]["end"]),
        "run_type": c["runType"],
        "ti": TaskInstance(payload, grants),
        "var": _Accessor(grants.variable),
        "conn": _Accessor(grants.connection),
        "log": logging.getLogger("airlock.task"),
        "scratch_dir": c["scratchDir"],
        # A mapped instance's element and position (Airflow passes the element as an expanded argument).
        "item": c.get("item"),
        "map_index": c.get("mapIndex", -1),
    }


def load_callable(payload):
    """Imports the task's file from the DAG version's code folder and returns its function."""
    code_dir = payload.get("codeDir")
    if not code_dir:
        raise RuntimeError('task "%s" needs its Python code, but the payload names no code folder; parse the DAG again with this Airlock version' % payload["taskId"])
    spec_text = payload["operator"]["args"]["callable"]
    rel, _, name = spec_text.rpartition(":")
    path = os.path.join(code_dir, rel)
    # As `python file.py` would: the file's folder first, then the DAG's folder (for package-style imports).
    for entry in (code_dir, os.path.dirname(path)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    module_name = rel[:-3].replace("/", ".") if all(p.isidentifier() for p in rel[:-3].split("/")) else "airlock_task"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise AttributeError("%s defines no function %s(context, **kwargs); check the callable \"%s\"" % (rel, name, spec_text))
    return fn


def encode_result(payload, value):
    """The result as an XCom value: inline when small, else a file in the scratch directory sent by reference."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError("the return value of %s is not JSON (%s); return dicts, lists, strings, numbers, booleans or None"
                        % (payload["operator"]["args"]["callable"], err)) from err
    data = text.encode("utf-8")
    if len(data) < INLINE_RESULT_LIMIT:
        return {"inline": json.loads(text)}
    import hashlib  # only here: its start-up cost is paid by large results alone

    rel = os.path.join(".airlock", "result-%d.json" % payload["tryNumber"])
    os.makedirs(os.path.join(payload["context"]["scratchDir"], ".airlock"), exist_ok=True)
    with open(os.path.join(payload["context"]["scratchDir"], rel), "wb") as f:
        f.write(data)
    return {"ref": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def protocol_error(err, code_dir):
    """The error as the protocol carries it; the traceback shows the user's frames with paths relative to the DAG file."""
    te = traceback.TracebackException(type(err), err, err.__traceback__)
    # Only the user's frames: not the runner's, nor the import machinery's that loaded the user's file.
    own = [f for f in te.stack if f.filename != __file__ and not f.filename.startswith("<frozen ")]
    te.stack = traceback.StackSummary.from_list(own)
    stack = "".join(te.format())
    message = str(err)
    if code_dir:
        prefix = code_dir.rstrip("/") + "/"
        stack, message = stack.replace(prefix, ""), message.replace(prefix, "")
    return {"type": type(err).__name__, "message": message, "stack": stack}


def _install_sdk_module():
    """`from airlock import TaskSkipped` works in task code without installing anything."""
    module = types.ModuleType("airlock")
    module.TaskSkipped = TaskSkipped
    module.NotGrantedError = NotGrantedError
    module.MissingValueError = MissingValueError
    sys.modules.setdefault("airlock", module)


def run_task(payload, channel):
    """Runs the task and emits its result or error; returns the exit code."""
    channel.emit({"type": "started", "pid": os.getpid(), "protocol": PROTOCOL_VERSION})
    code_dir = payload.get("codeDir")
    try:
        kind = payload["operator"]["kind"]
        if kind != "python":
            raise RuntimeError('operator "%s" is run by the Node runner, not the Python runner (protocol %d)' % (kind, PROTOCOL_VERSION))
        grants = Grants(payload)
        fn = load_callable(payload)
        kwargs = payload["operator"]["args"].get("kwargs") or {}
        value = fn(build_context(payload, grants), **kwargs)
        channel.emit({"type": "result", "value": encode_result(payload, value), "branch": None})
        return EXIT_OK
    except TaskSkipped as err:
        print(str(err) or "task skipped", flush=True)
        channel.emit({"type": "result", "value": {"inline": None}, "skipped": True})
        return EXIT_OK
    except BaseException as err:  # noqa: B902 - SystemExit and KeyboardInterrupt fail the try too
        error = protocol_error(err, code_dir)
        sys.stderr.write(error["stack"])
        sys.stderr.flush()
        channel.emit({"type": "error", "error": error})
        return EXIT_FAILED


def _heartbeat(channel):
    while True:
        threading.Event().wait(HEARTBEAT_SECONDS)
        channel.emit({"type": "heartbeat", "at": int(datetime.datetime.now().timestamp() * 1000)})


def main():
    # A warm runner (--warm) was started before its try was claimed and waits here for the payload; end-of-file
    # without one means its pool ended it (or its orchestrator is gone).
    warm = "--warm" in sys.argv[1:]
    if warm:
        # Tells the pool this runner is up (its sandbox is set up); fd 5 is closed before any task code runs.
        try:
            os.write(5, b"1")
            os.close(5)
        except OSError:
            pass
    try:
        text = sys.stdin.buffer.read().decode("utf-8")
        if warm and not text:
            return 0
        payload = json.loads(text)
    except ValueError as err:
        sys.stderr.write("airlock runner: the payload on stdin is not JSON (%s); the runner is started by the orchestrator, not by hand\n" % err)
        return EXIT_BAD_PAYLOAD
    protocol = payload.get("protocol") if isinstance(payload, dict) else None
    if protocol != PROTOCOL_VERSION:
        sys.stderr.write("airlock runner: payload protocol %s is not supported (this runner speaks %d); rebuild the environment with this Airlock version\n"
                         % (protocol, PROTOCOL_VERSION))
        return EXIT_BAD_PAYLOAD
    if warm and isinstance(payload.get("context"), dict) and payload["context"].get("scratchDir"):
        # The scratch folder moved into the try's folder (process backend): HOME and TMPDIR follow the payload.
        scratch = payload["context"]["scratchDir"]
        os.environ["HOME"] = os.environ["TMPDIR"] = scratch
        tempfile.tempdir = None
        os.chdir(scratch)
    # The nonce stays with the channel: task code finds it nowhere else, so its prints cannot forge an event.
    channel = EventChannel(payload.pop("nonce", "") or "")
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")
    _install_sdk_module()
    threading.Thread(target=_heartbeat, args=(channel,), daemon=True).start()
    return run_task(payload, channel)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: threads the task left running must not keep the try alive after its result.
    os._exit(code)
