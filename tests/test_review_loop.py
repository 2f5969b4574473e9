"""The review loop against a real Label Studio: extract (FAKE model) -> push one task per
report -> annotate through the REST API as the labeling page would -> pull -> export."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from sqlmodel import select

from gov_disclosure import REPORT_TYPE
from structurer.batch.export import write_jsonl
from structurer.confidence.rescore import rescore_run
from structurer.review.labeling import (
    InputKind,
    config_version,
    label_config,
    review_fields,
)
from structurer.review.listen import Listener
from structurer.review.pull import pull
from structurer.review.push import draw_audit, push
from structurer.review.reasons import reason_keys, reason_words
from structurer.review.server import ReviewServerError
from structurer.review.tasks import FieldToReview, ReportTask, report_html
from structurer.review.values import InvalidValue, parse_value
from structurer.settings import Settings
from structurer.store.models import Extraction
from structurer.store.review_models import ReviewAudit, ReviewCorrection, ReviewProject, ReviewTask
from structurer.store.session import session_scope
from tests.labelstudio_fixture import free_port
from tests.review_helpers import (
    CONFIG,
    CORRUPT,
    LONG,
    LONG_GOLD,
    SAMPLE,
    annotate,
    api,
    copies,
    extract,
    form,
    review_rows,
    review_settings,
    rows,
    server_tasks,
)

FIELDS = review_fields(REPORT_TYPE)
LIST_COLUMNS = ("document", "body", "year", "n_fields", "lowest_confidence", "audit")


def budget(settings: Settings, share: float = 0.10) -> int:
    """Route the least confident ``share`` of the batch to review (as `push --review-budget`)."""
    with session_scope(settings) as session:
        return rescore_run(session, settings, None, review_budget=share).n_review


# --- without a server ---------------------------------------------------------------------------


def test_config_is_one_form_over_the_fields_of_a_task() -> None:
    xml = label_config(REPORT_TYPE, CONFIG)
    root = ElementTree.fromstring(xml)
    (repeater,) = root.iter("Repeater")
    assert repeater.get("on") == "$fields"
    names = {el.get("name") for el in repeater.iter() if el.get("name")}
    assert names == {"card_{{idx}}", "verdict_{{idx}}", "value_{{idx}}"}
    assert [c.get("value") for c in repeater.iter("Choice")] == [
        "正确",
        "错误，已更正",
        "原文未提及",
    ]
    assert any(el.get("name") == "report" for el in root.iter("HyperText"))
    assert config_version(xml) == config_version(label_config(REPORT_TYPE, CONFIG))
    kinds = {path: f.kind for path, f in FIELDS.items()}
    assert kinds["proactive.total_items"] is InputKind.integer
    assert kinds["proactive.fees.amount_10k_yuan"] is InputKind.number
    assert kinds["meta.publish_date"] is InputKind.date
    assert kinds["meta.admin_level"] is InputKind.choice
    assert kinds["meta.title"] is InputKind.text
    assert kinds["narrative.problems"] is InputKind.lines
    assert set(FIELDS) == set(REPORT_TYPE.labels)
    assert set(CONFIG.sections) == {p.split(".")[0] for p in FIELDS}


@pytest.mark.parametrize(
    ("path", "raw", "expected"),
    [
        ("proactive.total_items", "57", 57),
        ("proactive.total_items", " １,２３４ ", 1234),
        ("proactive.licensing.change", "-3", -3),
        ("proactive.fees.amount_10k_yuan", "25.1", 25.1),
        ("meta.publish_date", "2024-01-18", "2024-01-18"),
        ("meta.publish_date", "2024年1月8日", "2024-01-08"),
        ("meta.admin_level", "county", "county"),
        ("narrative.problems", "甲\n\n 乙 \n", ["甲", "乙"]),
        ("contact.phone", " 0123-7788123 ", "0123-7788123"),
    ],
)
def test_values_are_read_by_kind(path: str, raw: str, expected: Any) -> None:
    assert parse_value(FIELDS[path], raw) == expected


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("proactive.total_items", "十二点五"),
        ("proactive.total_items", "abc"),
        ("proactive.total_items", "12.5"),
        ("proactive.fees.amount_10k_yuan", "nan"),
        ("meta.publish_date", "2024-02-30"),
        ("meta.publish_date", "last spring"),
        ("meta.admin_level", "village"),
        ("meta.title", "   "),
        ("narrative.problems", "\n \n"),
    ],
)
def test_bad_values_are_refused(path: str, raw: str) -> None:
    with pytest.raises(InvalidValue):
        parse_value(FIELDS[path], raw)


def item(path: str, slot_value: Any, start: int | None, end: int | None) -> FieldToReview:
    return FieldToReview(
        field_value_id=hash(path) % 1000,
        field=FIELDS[path],
        value=slot_value,
        confidence=0.5,
        evidence_start=start,
        evidence_end=end,
        section=path.split(".")[0],
        why="",
    )


def test_the_report_marks_every_evidence_and_anchors_it() -> None:
    text = "甲<乙>主动公开政府信息57条，其中规章3件。"
    total, rules = text.index("57"), text.index("3件")
    task = ReportTask(
        extraction_id=1,
        run_id="r",
        document="d.txt",
        text=text,
        items=[
            item("proactive.total_items", 57, text.index("主动"), total + 3),  # overlaps the next
            item("proactive.regulations.issued", 3, total, rules + 1),
            item("meta.title", "x", None, None),  # no evidence: no mark, no anchor
        ],
    )
    html = report_html(task)
    assert "&lt;乙&gt;" in html  # the text is escaped
    assert html.count("<mark") == 3  # before the overlap, the overlap, after it
    assert '<mark data-fields="1 2">57条</mark>' in html
    assert html.index(f'id="{task.anchor(0)}"') < html.index("主动")
    assert html.count('class="jump-target"') == 2
    assert html.index(f'id="{task.anchor(1)}"') < html.index("57")
    assert task.anchor(2) not in html


def test_why_a_field_is_flagged_in_words() -> None:
    signals = {"readers_agree": 0.0, "other_value": 12, "value_logprob": -2.3}
    keys = reason_keys("not_found", signals, flagged=True)
    assert keys[:3] == ["not_found", "readers_disagree", "low_probability"]
    words = reason_words(keys, CONFIG.reasons, signals)
    assert "原文中没有找到这个值" in words and "读出：12" in words and "概率低" in words
    assert reason_keys("exact", {"value_in_span": 1.0}, flagged=True) == ["low_confidence"]
    assert reason_keys("exact", {"identity_break": 1.0}, flagged=False) == ["identity_break"]


def test_label_studio_down_is_a_clear_error_and_changes_nothing(settings: Settings) -> None:
    down = review_settings(settings, f"http://127.0.0.1:{free_port()}", "0" * 40)
    extract(down)
    with session_scope(down) as session:
        before = {p: (r.status, r.value) for p, r in rows(session).items()}
    for step in (push, pull):
        with pytest.raises(ReviewServerError, match="cannot reach Label Studio"):
            step(down)
    with session_scope(down) as session:
        assert {p: (r.status, r.value) for p, r in rows(session).items()} == before
        assert session.exec(select(ReviewTask)).all() == []
        assert session.exec(select(ReviewProject)).all() == []


def test_the_audit_sample_is_seeded_and_recorded(settings: Settings) -> None:
    extract(settings)
    with session_scope(settings) as session:
        auto = [r.id for r in rows(session).values() if r.status == "auto"]
        audit, sample = draw_audit(session, "gov_disclosure", None, 0.1, 7, set())
        assert audit is not None and (audit.seed, audit.rate) == (7, 0.1)
        assert audit.population == len(auto) and audit.sampled == round(0.1 * len(auto))
        assert audit.field_value_ids == sorted(c.row.id for c in sample)
        assert set(audit.field_value_ids) <= set(auto)
        # each report is audited once
        assert draw_audit(session, "gov_disclosure", None, 0.1, 7, set()) == (None, [])
        stored = session.exec(select(ReviewAudit)).one()
        session.delete(stored)
        session.commit()
        again, _ = draw_audit(session, "gov_disclosure", None, 0.1, 7, set())
        assert again is not None and again.field_value_ids == stored.field_value_ids
        session.delete(again)
        session.commit()
        other, _ = draw_audit(session, "gov_disclosure", None, 0.1, 8, set())
        assert other is not None and other.field_value_ids != stored.field_value_ids


# --- against the real server ------------------------------------------------------------------


@pytest.mark.labelstudio
def test_wrong_token_is_a_clear_error(label_studio: tuple[str, str], settings: Settings) -> None:
    url, _ = label_studio
    wrong = "0123456789abcdef0123456789abcdef01234567"
    bad = review_settings(settings, url, wrong)
    extract(bad)
    with pytest.raises(ReviewServerError, match="rejected the API key") as caught:
        push(bad)
    assert wrong not in str(caught.value)
    with session_scope(bad) as session:
        assert session.exec(select(ReviewTask)).all() == []


@pytest.mark.labelstudio
def test_the_whole_loop(label_studio: tuple[str, str], settings: Settings, tmp_path: Path) -> None:
    url, token = label_studio
    s = review_settings(settings, url, token)
    run_id = extract(s)
    n_flagged = budget(s)
    with session_scope(s) as session:
        flagged = {p: r for p, r in rows(session).items() if r.status == "needs_review"}
    assert set(flagged) >= CORRUPT and 10 <= len(flagged) <= CONFIG.max_fields_per_task
    assert len(flagged) == n_flagged

    # push: the report's flagged fields are ONE task, grouped by section in report order
    first = push(s, run_id)
    assert (first.created, first.fields, first.already) == (1, len(flagged), 0)
    http = api(url, token)
    (task,) = server_tasks(http, first.project_id)
    data = task["data"]
    paths = [f["path"] for f in data["fields"]]
    assert set(paths) == set(flagged)
    order = list(FIELDS)
    ranks = [(CONFIG.section_rank(p.split(".")[0]), order.index(p)) for p in paths]
    assert ranks == sorted(ranks)
    # the task list's columns read
    assert data["document"] == SAMPLE.name and data["n_fields"] == len(flagged)
    assert data["body"] and data["year"] and data["audit"] == "否"
    assert data["lowest_confidence"] == round(min(r.confidence for r in flagged.values()), 2)
    for column in LIST_COLUMNS:
        assert "<" not in str(data[column])
    views = http.get("/api/dm/views/", params={"project": first.project_id}).json()
    hidden = views[0]["data"]["hiddenColumns"]["explore"]
    assert {"tasks:data.report", "tasks:data.fields", "tasks:data.structurer"} <= set(hidden)
    # every field: Chinese label, value, confidence, why, evidence with a jump into the report
    slot = paths.index("proactive.total_items")
    card = data["fields"][slot]["card"]
    assert "本年主动公开政府信息总数" in card and ">58<" in card
    assert f"{flagged['proactive.total_items'].confidence:.2f}" in card
    assert f"需要核对：{CONFIG.reasons['not_found']}" in card  # the report says 57
    located = next(i for i, p in enumerate(paths) if flagged[p].evidence_start is not None)
    anchor = f"{data['structurer']['key']}-ev-{located}"
    assert f'for="{anchor}"' in data["fields"][located]["card"]
    assert f'id="{anchor}"' in data["report"]
    # the prediction confirms every field and pre-fills every value
    project = http.get(f"/api/projects/{first.project_id}").json()
    (pred,) = task["predictions"]
    assert pred["model_version"] == project["model_version"]
    verdicts = {
        r["from_name"]: r["value"]["choices"] for r in pred["result"] if r["type"] == "choices"
    }
    assert verdicts == {f"verdict_{i}": ["正确"] for i in range(len(paths))}
    typed = next(r for r in pred["result"] if r["from_name"] == f"value_{slot}")
    assert typed["value"]["text"] == ["58"]
    with session_scope(s) as session:
        stored = {t.path: t for t in session.exec(select(ReviewTask)).all()}
    assert {t.task_id for t in stored.values()} == {task["id"]}
    assert [stored[p].slot for p in paths] == list(range(len(paths)))
    assert all(t.features for t in stored.values())

    # push again: nothing new
    again = push(s, run_id)
    assert (again.created, again.already) == (0, len(flagged))
    assert len(server_tasks(http, first.project_id)) == 1

    # one annotator: confirms most, corrects, says not stated, types nonsense
    extra = [p for p in paths if FIELDS[p].kind is InputKind.integer and p not in CORRUPT]
    answers: dict[str, tuple[str, str | None]] = {
        "proactive.total_items": ("confirmed", "57"),  # edited only: a correction is one edit
        "requests.new_received.total": ("corrected", "3"),
        extra[0]: ("corrected", "十二点五"),
        extra[1]: ("not_stated", None),
    }
    annotation = annotate(http, task["id"], form(task, answers))
    pulled = pull(s)
    by_path = {c.path: c for c in pulled.corrections}
    assert len(pulled.corrections) == len(paths)
    assert [c.path for c in pulled.rejected] == [extra[0]]
    assert "not an integer" in (by_path[extra[0]].error or "")
    assert (by_path["proactive.total_items"].verdict, by_path["proactive.total_items"].value) == (
        "corrected",
        57,
    )
    assert by_path[extra[1]].verdict == "not_stated" and by_path[extra[1]].value is None
    confirmed = [c for c in pulled.accepted if c.verdict == "confirmed"]
    assert len(confirmed) == len(paths) - 4
    with session_scope(s) as session:
        now = rows(session)
        record = session.exec(select(Extraction)).one().record or {}
        corrections = session.exec(select(ReviewCorrection)).all()
    assert (now["proactive.total_items"].value, now["proactive.total_items"].status) == (
        57,
        "corrected",
    )
    assert now["requests.new_received.total"].value == 3
    assert now[extra[0]].status == "needs_review"  # rejected: untouched
    assert record["proactive"]["total_items"] == 57
    some = confirmed[0].path
    assert now[some].status == "corrected" and now[some].signals["confirmed"] is True
    assert len(corrections) == len(paths)
    raw = next(c for c in corrections if c.accepted is False)
    assert raw.raw_input == "十二点五" and raw.annotation_id == annotation
    assert all(c.annotator == "admin@structurer.local" and c.annotated_at for c in corrections)

    # the export carries the corrections
    out = tmp_path / "out.jsonl"
    with session_scope(s) as session:
        assert write_jsonl(session, out, run_id) == 1
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["record"]["requests"]["new_received"]["total"] == 3
    assert exported["fields"]["proactive.total_items"]["status"] == "corrected"

    # nothing new to pull; the annotator fixes the rejected input: only that field changes
    assert pull(s).corrections == []
    fixed_answers = {**answers, extra[0]: ("corrected", "0")}
    patched = http.patch(
        f"/api/annotations/{annotation}", json={"result": form(task, fixed_answers)}
    )
    assert patched.status_code == 200, patched.text
    fixed = pull(s)
    assert {(c.path, c.value) for c in fixed.accepted if c.path == extra[0]} == {(extra[0], 0)}
    assert not fixed.rejected and not fixed.conflicts

    # a second annotator disagrees on one field: a conflict, not newest-wins
    second = form(task, {**fixed_answers, "requests.new_received.total": ("corrected", "5")})
    annotate(http, task["id"], second)
    disputed = pull(s)
    assert [c.path for c in disputed.conflicts] == ["requests.new_received.total"]
    assert "answered corrected 3" in (disputed.conflicts[0].error or "")
    with session_scope(s) as session:
        assert rows(session)["requests.new_received.total"].value == 3  # not overwritten
    assert {t.path: t.state for t in review_rows(s)}["requests.new_received.total"] == "conflict"


@pytest.mark.labelstudio
def test_a_long_report_is_split_per_section(
    label_studio: tuple[str, str], settings: Settings
) -> None:
    url, token = label_studio
    s = review_settings(settings, url, token)
    extract(s)  # the default threshold flags most of the fake model's fields
    with session_scope(s) as session:
        flagged = [r for r in rows(session).values() if r.status == "needs_review"]
    assert len(flagged) > 2 * CONFIG.max_fields_per_task
    pushed = push(s)
    assert pushed.fields == len(flagged) and pushed.created >= 3
    by_task: dict[int, list[ReviewTask]] = {}
    for t in review_rows(s):
        by_task.setdefault(t.task_id, []).append(t)
    sections_seen: list[set[str | None]] = []
    for fields in by_task.values():
        sections = {t.section for t in fields}
        assert len(fields) <= CONFIG.max_fields_per_task or len(sections) == 1
        sections_seen.append(sections)
    # a section is split only when it alone is longer than a screenful
    for section in {t.section for t in review_rows(s)}:
        holders = [i for i, seen in enumerate(sections_seen) if section in seen]
        n = sum(1 for t in review_rows(s) if t.section == section)
        assert len(holders) == 1 or n > CONFIG.max_fields_per_task


@pytest.mark.labelstudio
def test_push_five_reports_then_again(
    label_studio: tuple[str, str],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from structurer.cli.main import app

    url, token = label_studio
    s = review_settings(settings, url, token)
    docs = copies(SAMPLE, tmp_path / "docs", 3) + copies(LONG, tmp_path / "docs", 2, start=3)
    extract(s, docs[:3])
    extract(s, docs[3:], gold=LONG_GOLD)
    budget(s, 0.05)  # a few fields of every report, so that each is one task
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token)
    runner = CliRunner()
    pushed = runner.invoke(app, ["review", "push", "--audit", "0.02", "--seed", "11"])
    assert pushed.exit_code == 0, pushed.output
    created = [line for line in pushed.stdout.splitlines() if line.startswith("task ")]
    # One line per task; one task per report, split by section only past a screenful of fields.
    per_doc: dict[str, list[int]] = {}
    for line in created:
        _, name, rest = line.split(": ", 2)
        per_doc.setdefault(name, []).append(int(rest.split(" field(s)")[0]))
    # the budget is the batch's: a report with no field below the cut and none audited has no task
    assert per_doc and set(per_doc) <= {d.name for d in docs}, pushed.output
    screenful = CONFIG.max_fields_per_task
    for name, sizes in per_doc.items():
        assert all(n <= screenful for n in sizes), (name, sizes)
        assert len(sizes) == 1 or sum(sizes) > screenful, (name, sizes)
    assert f"{len(created)} new task(s)" in pushed.stdout and token not in pushed.output
    with session_scope(s) as session:
        audit = session.exec(select(ReviewAudit)).one()
    assert audit.seed == 11 and audit.sampled == max(1, round(0.02 * audit.population))
    audited = [t for t in review_rows(s) if t.audit_id == audit.id]
    assert sorted(t.field_value_id for t in audited) == sorted(audit.field_value_ids)
    http = api(url, token)
    tasks = server_tasks(http, int(pushed.stdout.split("project ")[1].split()[0]))
    assert len(tasks) == len(created)
    holders = {t.task_id for t in audited}
    for task in tasks:  # an audited field looks like the others; the list says the task has one
        assert task["data"]["audit"] == ("是" if task["id"] in holders else "否")
    again = runner.invoke(app, ["review", "push", "--audit", "0.02"])
    assert again.exit_code == 0, again.output
    assert not [line for line in again.stdout.splitlines() if line.startswith("task ")]
    assert "0 new task(s)" in again.stdout
    assert "audited by an earlier push" in again.output
    assert len(server_tasks(http, tasks[0]["project"])) == len(created)


@pytest.mark.labelstudio
def test_listen_pulls_on_webhooks(label_studio: tuple[str, str], settings: Settings) -> None:
    url, token = label_studio
    s = review_settings(settings, url, token)
    run_id = extract(s)
    budget(s)
    port = free_port()
    listener = Listener(s, port=port, echo=lambda _: None)
    listener.start()
    try:
        pushed = push(s, run_id)
        assert pushed.created == 1
        http = api(url, token)
        hooks = http.get("/api/webhooks", params={"project": pushed.project_id}).json()
        assert [h["url"] for h in hooks] == [f"http://127.0.0.1:{port}/webhook"]
        assert httpx.post(listener.url, json={"action": "ANNOTATION_CREATED"}).status_code == 403
        (task,) = server_tasks(http, pushed.project_id)
        annotate(http, task["id"], form(task, {"proactive.total_items": ("corrected", "57")}))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with session_scope(s) as session:
                if rows(session)["proactive.total_items"].status == "corrected":
                    break
            time.sleep(0.5)
        with session_scope(s) as session:
            row = rows(session)["proactive.total_items"]
        assert (row.status, row.value) == ("corrected", 57), listener.last_error
    finally:
        listener.stop()


@pytest.mark.labelstudio
def test_push_adopts_tasks_whose_commit_was_lost(
    label_studio: tuple[str, str], settings: Settings
) -> None:
    url, token = label_studio
    s = review_settings(settings, url, token)
    run_id = extract(s)
    budget(s)
    first = push(s, run_id)
    before = {(t.field_value_id, t.task_id, t.slot) for t in review_rows(s)}
    with session_scope(s) as session:  # as if the push died between the import and the commit
        for task in session.exec(select(ReviewTask)).all():
            session.delete(task)
        session.commit()
    again = push(s, run_id)
    assert (again.created, again.adopted) == (0, first.created)
    assert len(server_tasks(api(url, token), first.project_id)) == first.created
    assert {(t.field_value_id, t.task_id, t.slot) for t in review_rows(s)} == before


@pytest.mark.labelstudio
def test_cli_push_pull_stats_export(
    label_studio: tuple[str, str],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from structurer.cli.main import app

    url, token = label_studio
    s = review_settings(settings, url, token)
    extract(s)
    budget(s)
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", token)
    runner = CliRunner()
    pushed = runner.invoke(app, ["review", "push"])
    assert pushed.exit_code == 0, pushed.output
    assert "1 new task(s)" in pushed.output and token not in pushed.output
    http = api(url, token)
    with session_scope(s) as session:
        project_id = session.exec(select(ReviewProject)).one().project_id
    (task,) = server_tasks(http, project_id)
    answers = {
        "proactive.total_items": ("corrected", "57"),
        "requests.new_received.total": ("corrected", "abc"),
    }
    annotate(http, task["id"], form(task, answers))
    pulled = runner.invoke(app, ["review", "pull"])
    assert pulled.exit_code == 1, pulled.output  # one correction was rejected
    n = task["data"]["n_fields"]
    assert f"{n - 1} correction(s) applied, 1 rejected" in pulled.output
    assert f"rejected task {task['id']}" in pulled.output
    stats = runner.invoke(app, ["review", "stats"])
    assert stats.exit_code == 0, stats.output
    # flagged fields really wrong: 57 (the model said 58) of the n-1 settled ones
    assert f"1 wrong of {n - 1} reviewed" in stats.output
    assert "no audit sample yet" in stats.output
    out = tmp_path / "out.jsonl"
    exported = runner.invoke(app, ["export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    line = json.loads(out.read_text(encoding="utf-8"))
    assert line["record"]["proactive"]["total_items"] == 57
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "0" * 40)
    denied = runner.invoke(app, ["review", "pull"])
    assert denied.exit_code == 1 and "rejected the API key" in denied.output


@pytest.mark.labelstudio
def test_a_form_label_studio_refuses_is_a_clear_error(
    label_studio: tuple[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, token = label_studio
    s = review_settings(settings, url, token)
    extract(s)
    budget(s)
    pushed = push(s)
    http = api(url, token)
    (task,) = server_tasks(http, pushed.project_id)
    annotate(http, task["id"], form(task, {}))
    # a later form without the controls those annotations use
    other = '<View><HyperText name="report" value="$report"/></View>'
    monkeypatch.setattr("structurer.review.projects.label_config", lambda *_: other)
    with pytest.raises(ReviewServerError, match="refuses a new review form") as caught:
        push(s)
    assert f"delete project {pushed.project_id}" in str(caught.value)
    assert token not in str(caught.value)
