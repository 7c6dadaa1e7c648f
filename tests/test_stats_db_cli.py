"""`python -m stats_db`: help for every command, the JSON shapes DESIGN.md fixes, exit codes."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from characters.config import get_config
from stats_db import cli
from tests.test_stats_db_helpers import shared_minilm, write_config, write_mini_world

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("import", "rollback", "optimize", "status", "list", "show", "diff", "history",
            "summary", "search", "seed", "rebuild", "schedule")


def test_every_command_has_help(capsys):
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            cli.main([command, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert f"python -m stats_db {command}" in out and len(out.splitlines()) > 2
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)


def test_help_loads_no_heavy_library():
    code = ("import sys; from stats_db.cli import build_parser; build_parser(); "
            "heavy = ('lancedb', 'torch', 'sentence_transformers'); "
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A data folder seeded by a real `python -m stats_db seed` over the small world."""
    root = tmp_path_factory.mktemp("cli")
    write_mini_world(root / "world")
    config = write_config(root / "config.toml", root / "world")
    env = {**os.environ, "LOREKEEPER_HOME": str(root / "home"),
           "LOREKEEPER_CONFIG": str(config), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "stats_db", "seed"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "seeded 10 patches" in proc.stdout
    return env, root


@pytest.fixture
def run(env, monkeypatch, capsys):
    """Run the CLI in this process against the seeded folder; returns (exit code, out, err)."""
    environ, _ = env
    for key in ("LOREKEEPER_HOME", "LOREKEEPER_CONFIG"):
        monkeypatch.setenv(key, environ[key])
    monkeypatch.setattr("stats_db.embed.default_embedder", lambda *a, **k: shared_minilm())
    get_config.cache_clear()

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield invoke
    get_config.cache_clear()


def test_second_seed_is_fast_and_loads_no_model(env):
    environ, _ = env
    code = ("import sys, time; t = time.perf_counter(); from stats_db.cli import main; "
            "rc = main(['seed']); "
            "print('heavy', [m for m in ('torch', 'sentence_transformers') if m in sys.modules]); "
            "print('took', time.perf_counter() - t); sys.exit(rc)")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environ,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "already seeded: patch 2026-W48" in proc.stdout and "heavy []" in proc.stdout
    assert time.perf_counter() - started < 15


def test_status_list_show_diff_json(run):
    code, out, _ = run("status", "--json")
    assert code == 0
    assert json.loads(out) == {"patch": "2026-W48", "patches": 10, "characters": 23,
                               "index_rows": 46, "healthy": True, "state": "healthy",
                               "problems": []}
    code, out, _ = run("list", "--json")
    rows = json.loads(out)
    assert len(rows) == 23 and set(rows[0]) == {"id", "name", "faction"}
    code, out, _ = run("show", "Brugzag War Eye", "--json")
    shown = json.loads(out)
    assert code == 0 and set(shown) == {"id", "name", "faction", "patch", "stats"}
    assert shown["id"] == "brugzag-war-eye" and shown["patch"] == "2026-W48"
    code, out, _ = run("show", "aedros-glimmerbrook", "--patch", "2026-W41", "--json")
    assert json.loads(out)["patch"] == "2026-W41"
    code, out, _ = run("diff", "Aedros Glimmerbrok", "--from", "2026-W40", "--to", "2026-W48",
                       "--json")
    diff = json.loads(out)
    assert code == 0 and set(diff) == {"id", "name", "from", "to", "changes"}
    assert (diff["from"], diff["to"]) == ("2026-W40", "2026-W48")
    assert all(len(pair) == 2 for pair in diff["changes"].values())
    code, out, _ = run("diff", "aedros-glimmerbrook", "--json")
    assert (json.loads(out)["from"], json.loads(out)["to"]) == ("2026-W47", "2026-W48")


def test_human_output_history_summary_search(run):
    code, out, _ = run("show", "brugzag-war-eye")
    assert code == 0 and out.startswith("Brugzag War-Eye, Orcish")
    code, out, _ = run("history", "brugzag-war-eye", "health", "--json")
    assert [h["patch"] for h in json.loads(out)["history"]][-1] == "2026-W48"
    code, out, _ = run("history", "brugzag-war-eye", "health")
    assert "2026-W46" in out and "hp" in out
    code, out, _ = run("summary", "2026-W46", "--json")
    assert json.loads(out)["new_characters"] == ["brug-zul-dreadhide", "brugzag-war-eye"]
    code, out, _ = run("summary")
    assert code == 0 and "Patch 2026-W48" in out
    code, out, _ = run("search", "how tough is he", "--name", "brugzag", "--json")
    assert code == 0 and {h["character_id"] for h in json.loads(out)} == {"brugzag-war-eye"}


def test_unknown_names_patches_and_stats_exit_2(run):
    code, _, err = run("show", "Brugzog Warey Eyeball")
    assert code == 2 and "did you mean" in err and "Brugzag War-Eye" in err
    code, _, err = run("show", "brugzag-war-eye", "--patch", "2026-W99")
    assert code == 2 and "unknown patch '2026-W99'" in err
    code, _, err = run("history", "brugzag-war-eye", "charisma")
    assert code == 2 and "unknown stat" in err


def test_import_csv_then_again_then_a_bad_file(run, env, tmp_path):
    _, root = env
    sqlite_path = root / "home" / "lorekeeper.sqlite"
    good = tmp_path / "w49.csv"
    good.write_text("# patch: 2026-W49\n# released: 2026-12-01\n# notes: csv\n"
                    "id,health,attack\naedros-glimmerbrook,1500,\nbrugzag-war-eye,,170\n")
    code, out, _ = run("import", str(good), "--json")
    [result] = json.loads(out)
    assert code == 0 and result["status"] == "imported" and result["counts"]["embedded"] == 2
    code, out, _ = run("import", str(good))
    assert code == 0 and "unchanged" in out
    bare = tmp_path / "bare.csv"
    bare.write_text("id,health\naedros-glimmerbrook,1600\n")
    code, out, _ = run("import", str(bare), "--patch", "2026-W50", "--released", "2026-12-08")
    assert code == 0 and "imported" in out
    before = sqlite_path.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"patch": "2026-W51", "released": "2026-12-15", "kind": "delta",
                               "characters": [{"id": "aedros-glimmerbrook",
                                               "stats": {"health": -5, "wisdom": 3}}]}))
    code, out, _ = run("import", str(bad))
    assert code == 2
    assert f"{bad}: entry 1 (aedros-glimmerbrook): stats.health: -5 is outside" in out
    assert "stats.wisdom: unknown stat" in out
    assert sqlite_path.read_bytes() == before
    code, out, _ = run("status", "--json")
    assert json.loads(out)["patch"] == "2026-W50" and json.loads(out)["healthy"]
    code, out, _ = run("rebuild")
    assert code == 0 and "rebuilt" in out


def test_error_family_exits_2_with_the_message(run, env, tmp_path):
    _, root = env
    code, _, err = run("show", "brugzag-war-eye", "--patch", "2026-W40")
    assert code == 2 and "Brugzag War-Eye arrived in patch 2026-W46" in err
    sqlite_path = root / "home" / "lorekeeper.sqlite"
    before = sqlite_path.read_bytes()
    fine = tmp_path / "fine.json"
    fine.write_text(json.dumps({"patch": "2026-W52", "released": "2026-12-22", "kind": "delta",
                                "characters": [{"id": "brugzag-war-eye", "stats": {
                                    "health_regen": 11.97, "attack_speed": 0.915}}]}))
    code, out, _ = run("import", str(fine))
    assert code == 2 and "11.97 has 2 decimal places; health_regen allows at most 1" in out
    assert "0.915 has 3 decimal places; attack_speed allows at most 2" in out
    assert sqlite_path.read_bytes() == before
    lock = open(root / "home" / "write.lock", "w")  # noqa: SIM115 - held across the call
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        proc = subprocess.run([sys.executable, "-m", "stats_db", "rollback", "2026-W48"],
                              cwd=REPO, env={**env[0], "LOREKEEPER_EMBEDDER": "hash"},
                              capture_output=True, text=True, timeout=120)
    finally:
        lock.close()
    assert proc.returncode == 2 and "another import or rollback is writing" in proc.stderr


def test_empty_data_folder_status_is_an_explicit_empty_state(env, tmp_path):
    environ, _ = env
    proc = subprocess.run([sys.executable, "-m", "stats_db", "status", "--json"], cwd=REPO,
                          env={**environ, "LOREKEEPER_HOME": str(tmp_path / "empty"),
                               "LOREKEEPER_EMBEDDER": "hash"},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["state"] == "empty" and status["healthy"] is False
    assert (status["patch"], status["patches"], status["characters"]) == (None, 0, 0)
    assert "no patch has been imported yet" in status["problems"][0]
