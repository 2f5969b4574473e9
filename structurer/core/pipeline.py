"""Extract one document: sections -> one small LLM call per part (+ the table reader and the
report type's rule readers) -> readings, the LLM's grounded in the text (the failing fields
re-asked once with the reasons, nulled when still invented) -> evidence -> a validated record
with one row per leaf.

`extract_document` is a pure function of (document, settings) given an LLM client: it does no
database I/O, so a distributed engine can map it.
"""

from __future__ import annotations

import time
import typing
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import replace
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from structurer.core.evidence.complete import complete_items, complete_quote, items_within
from structurer.core.evidence.grounding import (
    GroundedField,
    Rejection,
    check_part,
    reask_message,
    short_label,
    zero_quote,
)
from structurer.core.evidence.locate import cell_signals, locate_evidence
from structurer.core.evidence.plausible import Bounds, plausible, shared_unlabelled_spans
from structurer.core.kinds import field_kinds, normalize_text
from structurer.core.logprob import value_logprob
from structurer.core.model import LLMResult, Model, TokenLogprob, request_hash
from structurer.core.prompts import PromptSet, safe_name
from structurer.core.reconcile import reconcile_record
from structurer.core.records import flatten, iter_leaf_fields, unflatten
from structurer.core.report_type import PartSpec, ReportType
from structurer.core.response_models import (
    PartField,
    build_response_model,
    part_fields,
    values_of,
)
from structurer.core.sections import split_sections
from structurer.core.types import (
    OCR_FORMATS,
    AlignmentStatus,
    CallRecord,
    Candidate,
    CellReading,
    DocStatus,
    DocumentOutcome,
    FieldRow,
    LoadedDocument,
    Section,
)
from structurer.settings import Settings

REASK_ONLY = "Answer again with only these fields; the other fields of your answer stand."
MAX_PART_CHARS = 14000
FOCUS_MIN_CHARS = 600  # shorter parts are sent whole: cheap, and safer


def part_text(
    doc: LoadedDocument, sections: list[Section], part: PartSpec
) -> tuple[str, list[tuple[int, int]]]:
    """The text a part reads, and the windows (offsets in the document) it came from."""
    text = doc.text
    by_name: dict[str, list[Section]] = {}
    for s in sections:
        by_name.setdefault(s.name, []).append(s)
    windows = [(s.start, s.end) for name in part.sections for s in by_name.get(name, [])]
    if not windows:
        windows = [(0, len(text))]
    windows.sort()
    if part.head_chars and windows[0][0] > 0:
        windows.insert(0, (0, min(part.head_chars, len(text))))
    if part.tail_chars and windows[-1][1] < len(text):
        windows.append((max(0, len(text) - part.tail_chars), len(text)))
    merged = _merge(windows)
    if part.focus and sum(e - s for s, e in merged) > FOCUS_MIN_CHARS:
        merged = _focus(text, merged, part.focus) or merged
    chunks = [text[s:e] for s, e in merged]
    joined = "\n……\n".join(chunks)
    if len(joined) > MAX_PART_CHARS:
        joined = joined[:MAX_PART_CHARS]
    return joined, merged


def _tidy_lists(
    found: dict[str, tuple[Any, str | None]],
    asked: list[PartField],
    text: str,
    windows: list[tuple[int, int]],
    sections: list[Section],
    rtype: ReportType,
) -> None:
    """List items as the record holds them: completed from the text (complete_items), those
    the text holds outside the list's own sections dropped (`rtype.list_sections`), and an
    item given in two lists kept in the one that owns it (`rtype.list_owner`)."""
    for f in asked:
        items, quote = found[f.path]
        if not f.is_list or not items:
            continue
        items = complete_items(items, text, windows)
        names = rtype.list_sections.get(f.path, ())
        if own := [(s.start, s.end) for s in sections if s.name in names]:
            items = items_within(items, text, own, windows)
        found[f.path] = (items, quote)
    for path, owner in rtype.list_owner.items():
        mine, theirs = found.get(path, (None, None))[0], found.get(owner, (None, None))[0]
        if mine and theirs:
            taken = {normalize_text(str(item)) for item in theirs}
            kept = [item for item in mine if normalize_text(str(item)) not in taken]
            found[path] = (kept, found[path][1])


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in windows:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _focus(
    text: str, windows: list[tuple[int, int]], words: tuple[str, ...]
) -> list[tuple[int, int]]:
    """The lines of the windows that name one of `words` (empty when none does)."""
    kept: list[tuple[int, int]] = []
    for ws, we in windows:
        start = ws
        while start < we:
            end = text.find("\n", start, we)
            end = we if end < 0 else end + 1
            if any(w in text[start:end] for w in words):
                kept.append((start, end))
            start = end
    return _merge(kept)


def one_line(errors: list[str]) -> str:
    """The first part's error, and how many other parts failed: one terminal line."""
    more = f" (and {len(errors) - 1} more part(s) failed)" if len(errors) > 1 else ""
    return f"{errors[0]}{more}"


def build_messages(
    prompts: PromptSet,
    part: PartSpec,
    fields: list[PartField],
    text: str,
    doc_name: str,
    report_format: str | None = None,
    item_max_chars: int | None = None,
) -> list[dict[str, Any]]:
    """`report_format` is the format the table reader found (None when it did not run), so
    a template can ask only what that format can state. Both templates see the whole context:
    a version may put the part's guidance and fields after the text (v4), so that what every
    call of a document shares comes first and the server's prompt cache can reuse it."""
    context: dict[str, Any] = {
        "part": part.prompt,
        "fields": fields,
        "report_format": report_format,
        "text": text,
        "doc_name": safe_name(doc_name),
        "item_max_chars": item_max_chars,
    }
    system = prompts.render("system.j2", **context)
    user = prompts.render("user.j2", **context)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _value_logprob(logprobs: list[TokenLogprob], key: str) -> dict[str, float]:
    """Signals from the token logprobs of the value under `key` in the reply (none if absent)."""
    found = value_logprob(logprobs, key)
    if found is None:
        return {}
    return {"value_logprob": round(found.mean, 4), "value_logprob_min": round(found.min, 4)}


def item_cap(settings: Settings, prompts: PromptSet) -> int | None:
    """The list items' length cap, when the prompt asks for their first words."""
    return settings.item_max_chars if prompts.asks_item_starts else None


@cache
def _kinds(record_model: type[BaseModel]) -> dict[str, str]:
    return dict(field_kinds(record_model))


def _run_part(
    doc: LoadedDocument,
    sections: list[Section],
    part: PartSpec,
    rtype: ReportType,
    llm: Model,
    prompts: PromptSet,
    settings: Settings,
    report_format: str | None = None,
) -> tuple[dict[str, list[Candidate]], list[CallRecord], str | None]:
    fields = part_fields(rtype.record_model, part)
    cap = item_cap(settings, prompts)
    model = build_response_model(rtype, part, settings.quote_max_chars, cap)
    text, windows = part_text(doc, sections, part)
    messages = build_messages(prompts, part, fields, text, doc.name, report_format, cap)
    schema = model.model_json_schema()
    req_hash = request_hash(llm.model, messages, schema, llm.mode_name)
    kinds = _kinds(rtype.record_model)
    grounded = [
        GroundedField(
            f.path, f.key, kinds.get(f.path, "str"), short_label(f.description), f.description
        )
        for f in fields
    ]

    def grounding(values: dict[str, tuple[Any, str | None]]) -> list[Rejection]:
        found = check_part(
            values, grounded, doc.text, windows, rtype.grounding_reasons, rtype.float_scales
        )
        if rtype.check_value is not None:
            failing = {r.path for r in found if r.rejected}
            for f in grounded:
                value = values.get(f.path, (None, None))[0]
                if f.path in failing or value is None or value == []:
                    continue
                reason = rtype.check_value(f.path, value, doc.text)
                if reason:
                    found = [r for r in found if r.path != f.path]
                    found.append(Rejection(f.path, f.key, value, reason, True))
        return found

    samples: list[LLMResult] = [llm.complete(messages, model) for _ in range(settings.samples)]
    calls = [_call_record(part, llm, prompts, req_hash, messages, model, r) for r in samples]
    primary = samples[0]
    if primary.parsed is None:
        return {}, calls, f"part {part.name}: {primary.error}"

    def answered(parsed: BaseModel, asked: list[PartField]) -> dict[str, tuple[Any, str | None]]:
        found = values_of(parsed, asked)
        _tidy_lists(found, asked, doc.text, windows, sections, rtype)
        if settings.quote_max_chars is not None:
            for f in asked:
                value, quote = found[f.path]
                if not f.is_list:
                    quote = complete_quote(quote, settings.quote_max_chars, doc.text, windows)
                    found[f.path] = (value, quote)
        return found

    values = answered(primary.parsed, fields)
    others = [answered(s.parsed, fields) for s in samples[1:] if s.parsed is not None]
    logprobs = {f.path: primary.logprobs for f in fields}
    retried: set[str] = set()
    if settings.grounding == "reask" and settings.max_retries > 0:
        # A list keeps its grounded items and drops the others (below); re-asking it would
        # replace the whole list with the answer about the failing items.
        lists = {f.path for f in fields if f.is_list}
        failing = [r for r in grounding(values) if r.rejected and r.path not in lists]
        if failing:
            call, answers, answer_logprobs = _reask(
                part, rtype, llm, prompts, settings, messages, primary, failing, answered
            )
            calls.append(call)
            for path, answer in answers.items():
                values[path] = answer
                logprobs[path] = answer_logprobs
                retried.add(path)
    # What still fails grounding after the re-ask (or in a cached reply) becomes null; the
    # proposal and the reason stay as signals for the reviewer.
    found = grounding(values) if settings.grounding != "off" else []
    rejected = {r.path: r for r in found if r.rejected}
    weak = {r.path: r for r in found if not r.rejected}
    readings: dict[str, list[Candidate]] = {}
    for f in fields:
        value, quote = values[f.path]
        signals: dict[str, Any] = {"retries": primary.retries + (f.path in retried)}
        if f.path in rejected:
            r = rejected[f.path]
            signals.update(rejected_value=r.value, rejected_reason=r.reason)
            if isinstance(value, list):
                value = [v for v in value if v not in r.value]
            else:
                value, quote = None, None
        elif f.path in weak:
            signals["grounding_note"] = weak[f.path].reason
        kind = kinds.get(f.path, "str")
        if value == 0 and settings.grounding != "off" and kind in ("int", "float"):
            quote = zero_quote(quote, doc.text, windows, f.description) or quote
        if others:
            signals["sample_agreement"] = sum(o[f.path][0] == value for o in others) / len(others)
        if value is not None and value != []:
            signals.update(_value_logprob(logprobs[f.path], f.key))
        located = locate_evidence(
            value,
            quote,
            doc.text,
            windows,
            kind=kind,
            label=f.description,
            scales=rtype.float_scales,
        )
        signals.update(located.signals())
        readings.setdefault(f.path, []).append(
            Candidate(
                value=value, reader="llm", quote=quote, evidence=located.evidence, signals=signals
            )
        )
    return readings, calls, None


def _span(reading: Candidate) -> tuple[int, int] | None:
    """The evidence span of a stated, non-zero value (one "none received" sentence may
    honestly back several zero counts)."""
    ev = reading.evidence
    if ev is None or ev.start is None or ev.end is None or reading.value in (None, [], 0):
        return None
    return ev.start, ev.end


def _mark_shared_quotes(readings: dict[str, list[Candidate]]) -> None:
    """One span naming no field's label yet backing several fields of the document (an
    injected "fill every number with 999" is text too) is evidence for none of them."""
    flat = [r for rs in readings.values() for r in rs if r.reader == "llm"]
    shared = shared_unlabelled_spans((_span(r), r.signals.get("label_in_span")) for r in flat)
    for r in flat:
        if _span(r) in shared:
            r.signals["shared_unlabelled_quote"] = 1.0


def _mark_plausibility(candidates: dict[str, list[Candidate]], rtype: ReportType) -> None:
    bounds = Bounds(rtype.year_paths, rtype.first_year, rtype.max_count)
    kinds = _kinds(rtype.record_model)
    for path, readings in candidates.items():
        for r in readings:
            ok = plausible(r.value, kinds.get(path, "str"), path, bounds)
            if ok is not None:
                r.signals["plausible"] = ok


def _call_record(
    part: PartSpec,
    llm: Model,
    prompts: PromptSet,
    req_hash: str,
    messages: list[dict[str, Any]],
    model: type[BaseModel],
    r: LLMResult,
    reask: bool = False,
) -> CallRecord:
    request: dict[str, Any] = {
        "messages": messages,
        "response_model": model.__name__,
        "mode": llm.mode_name,
    }
    if reask:
        request["reask"] = True
    return CallRecord(
        part=part.name,
        model=llm.model,
        prompt_version=prompts.fingerprint,
        request_hash=req_hash,
        request=request,
        response=r.raw,
        tokens_in=r.tokens_in,
        tokens_out=r.tokens_out,
        latency_ms=int(r.latency_s * 1000),
        # a re-ask row counts as one retry of its part, plus its own
        retries=r.retries + r.transport_retries + int(reask),
        error=r.error,
        cached=r.cached,
        timings=r.timings,
    )


def _reask(
    part: PartSpec,
    rtype: ReportType,
    llm: Model,
    prompts: PromptSet,
    settings: Settings,
    messages: list[dict[str, Any]],
    first: LLMResult,
    failing: list[Rejection],
    answered: Callable[[BaseModel, list[PartField]], dict[str, tuple[Any, str | None]]],
) -> tuple[CallRecord, dict[str, tuple[Any, str | None]], list[TokenLogprob]]:
    """Re-ask only the fields that failed grounding, with the reasons, as the next turn of the
    same conversation: the server's prompt cache reuses the whole first call, and the model
    decodes a few fields instead of the whole part again (instructor's own re-ask would ask
    for every field). One re-ask per part: each costs a call."""
    asked = replace(part, paths=tuple(dict.fromkeys(r.path for r in failing)))
    fields = part_fields(rtype.record_model, asked)
    model = build_response_model(
        rtype, asked, settings.quote_max_chars, item_cap(settings, prompts)
    )
    only = rtype.grounding_reasons.get("reask_only", REASK_ONLY)
    follow = [
        *messages,
        {"role": "assistant", "content": first.raw or ""},
        {"role": "user", "content": f"{reask_message(failing)}\n{only}"},
    ]
    req_hash = request_hash(llm.model, follow, model.model_json_schema(), llm.mode_name)
    result = llm.complete(follow, model)
    call = _call_record(part, llm, prompts, req_hash, follow, model, result, reask=True)
    if result.parsed is None:  # the first answers stand (and are nulled by grounding)
        return call, {}, []
    return call, answered(result.parsed, fields), result.logprobs


def _table_readings(
    doc: LoadedDocument, rtype: ReportType
) -> tuple[dict[str, list[Candidate]], str | None, list[str]]:
    """The table reader's candidates, the format it detected, and its notes for the operator."""
    if rtype.read_tables is None:
        return {}, None, []
    readout = rtype.read_tables(doc.text, doc.source_format in OCR_FORMATS)
    return _candidates(readout.cells, "table"), readout.format, list(readout.notes)


def _rule_readings(doc: LoadedDocument, rtype: ReportType) -> dict[str, list[Candidate]]:
    if rtype.read_rules is None:
        return {}
    return _candidates(rtype.read_rules(doc.text), "rule")


def _candidates(cells: Iterable[CellReading], reader: str) -> dict[str, list[Candidate]]:
    """A deterministic reader's cells as candidates, with its note and any failed self-check
    (in words) as signals."""
    readings: dict[str, list[Candidate]] = {}
    for cell in cells:
        signals: dict[str, Any] = {}
        if cell.note:
            signals["note"] = cell.note
        if cell.doubt:
            signals["doubt"] = cell.doubt
        if cell.doubt_final:
            signals["doubt_final"] = True
        readings.setdefault(cell.path, []).append(
            Candidate(
                value=cell.value,
                reader=reader,
                quote=cell.evidence.quote,
                evidence=cell.evidence,
                signals=signals,
            )
        )
    return readings


def _read_for_sure(candidates: dict[str, list[Candidate]]) -> set[str]:
    """Fields a deterministic reader read: a value, quoted exactly from the text."""
    return {
        path
        for path, readings in candidates.items()
        if any(
            r.reader in ("table", "rule")
            and r.value not in (None, [])
            and r.evidence is not None
            and r.evidence.status == AlignmentStatus.exact
            for r in readings
        )
    }


def _ask_less(
    parts: list[PartSpec], rtype: ReportType, read: set[str], *, fields_too: bool
) -> list[PartSpec]:
    """The parts still worth a call: those with a field no reader has read (with `fields_too`,
    asking only for those fields)."""
    out = []
    for part in parts:
        paths = [f.path for f in part_fields(rtype.record_model, part)]
        unread = tuple(p for p in paths if p not in read)
        if not unread:
            continue
        out.append(replace(part, paths=unread) if fields_too and len(unread) < len(paths) else part)
    return out


def _second_reading(
    doc: LoadedDocument,
    rtype: ReportType,
    llm: Model,
    prompts: PromptSet,
    candidates: dict[str, list[Candidate]],
) -> list[CallRecord]:
    """Tables with a doubted cell are read again by the model alone; its values join the
    candidates (reader "llm"), so reconciliation compares the two readings: agreement
    settles a doubt about how the reader took the row apart (not one about what the text
    prints), disagreement keeps the cell in review with the other value.
    Tables without doubt cost no call."""
    assert rtype.reread_tables is not None
    cells = {p: rs[0] for p, rs in candidates.items() if rs and rs[0].reader == "table"}
    if not any(c.signals.get("doubt") for c in cells.values()):
        return []
    calls = []
    for rr in rtype.reread_tables(doc.text, cells, llm):
        schema = rr.response_model.model_json_schema()
        r = rr.result
        calls.append(
            CallRecord(
                part=rr.part,
                model=llm.model,
                prompt_version=prompts.fingerprint,
                request_hash=request_hash(llm.model, rr.messages, schema, llm.mode_name),
                request={
                    "messages": rr.messages,
                    "response_model": rr.response_model.__name__,
                    "mode": llm.mode_name,
                },
                response=r.raw,
                tokens_in=r.tokens_in,
                tokens_out=r.tokens_out,
                latency_ms=int(r.latency_s * 1000),
                retries=r.retries,
                error=r.error,
                cached=r.cached,
                timings=r.timings,
            )
        )
        for path, value in rr.values.items():
            if path in candidates and value is not None:
                candidates[path].append(
                    Candidate(value=value, reader="llm", signals={"second_reading": 1.0})
                )
    return calls


def extract_document(
    doc: LoadedDocument,
    rtype: ReportType,
    llm: Model,
    prompts: PromptSet,
    settings: Settings,
    *,
    executor: Executor | None = None,
) -> DocumentOutcome:
    started = time.perf_counter()

    def failed(error: str, calls: list[CallRecord] | None = None) -> DocumentOutcome:
        return DocumentOutcome(
            doc,
            DocStatus.failed,
            error,
            None,
            [],
            [],
            None,
            calls or [],
            time.perf_counter() - started,
        )

    reason = rtype.not_a_report(doc.text)
    if reason:
        return failed(f"not a report: {reason}")
    sections = split_sections(doc.text, rtype.sections)

    candidates: dict[str, list[Candidate]] = {}
    table_format: str | None = None
    notes: list[str] = []
    table_ran = settings.table_reader in ("table", "both") and rtype.read_tables is not None
    if table_ran:
        table_candidates, table_format, notes = _table_readings(doc, rtype)
        for path, rs in table_candidates.items():
            candidates.setdefault(path, []).extend(rs)

    if settings.rule_reader:
        for path, rs in _rule_readings(doc, rtype).items():
            candidates.setdefault(path, []).extend(rs)

    calls: list[CallRecord] = []
    errors: list[str] = []
    if table_ran and settings.table_reader == "table" and rtype.reread_tables is not None:
        calls.extend(_second_reading(doc, rtype, llm, prompts, candidates))
    todo = [
        part
        for part in rtype.parts
        if not (part.table and settings.table_reader == "table")
        and not (part.skip_with_tables and table_format is not None)
    ]
    if settings.ask_less != "off":
        read = _read_for_sure(candidates)
        if table_ran and rtype.format_path is not None:
            read.add(rtype.format_path)  # the table reader decides the format (below)
        todo = _ask_less(todo, rtype, read, fields_too=settings.ask_less == "fields")

    def run_part(part: PartSpec) -> tuple[dict[str, list[Candidate]], list[CallRecord], str | None]:
        return _run_part(doc, sections, part, rtype, llm, prompts, settings, table_format)

    # Parts are independent calls: with an executor they are in flight at once (results in order).
    results = (
        list(executor.map(run_part, todo)) if executor is not None else [run_part(p) for p in todo]
    )
    for part_readings, part_calls, error in results:
        calls.extend(part_calls)
        if error:
            errors.append(error)
        for path, rs in part_readings.items():
            candidates.setdefault(path, []).extend(rs)

    flat: dict[str, Any] = {}
    rows: list[FieldRow] = []
    kinds = _kinds(rtype.record_model)
    if table_ran and rtype.format_path is not None:
        # The table reader decides the format: a standard one, or the type's default without.
        candidates.setdefault(rtype.format_path, []).insert(
            0, Candidate(value=table_format or rtype.format_without_tables, reader="table")
        )
    for path, readings in candidates.items():
        for reading in readings:
            if reading.reader in ("table", "rule"):
                reading.signals.update(
                    cell_signals(
                        reading.value,
                        reading.evidence,
                        reading.signals.get("note"),
                        kinds.get(path, "str"),
                        rtype.float_scales,
                    )
                )
    _mark_plausibility(candidates, rtype)
    _mark_shared_quotes(candidates)
    chosen_by_path = reconcile_record(candidates, rtype.check_identities)
    for picked in chosen_by_path.values():
        agreed = picked.signals.get("readers_agree") == 1.0
        if picked.signals.get("doubt") and agreed and not picked.signals.get("doubt_final"):
            # the model, reading the table alone, found the same value: the doubt is settled
            # (not one about what the text prints: the model reads the same glyphs)
            picked.signals["doubt_settled"] = picked.signals.pop("doubt")
        elif picked.signals.get("second_reading") and picked.signals.get("readers_agree") == 0.0:
            picked.signals["doubt"] = (
                f"the model's second reading of the table, {picked.value}, was kept by the "
                f"identities; the table reader read {picked.signals.get('other_value')}"
            )
    for path, annotation, _ in iter_leaf_fields(rtype.record_model):
        empty: Any = [] if typing.get_origin(annotation) is list else None
        chosen = chosen_by_path.get(path)
        flat[path] = chosen.value if chosen is not None and chosen.value is not None else empty
        if (
            chosen is not None
            and chosen.value in (None, [])
            and "rejected_reason" in chosen.signals
        ):
            # a proposal rejected by grounding: no value, but a row for the reviewer
            chosen.signals["kind"] = kinds.get(path, "str")
            rows.append(FieldRow(path, None, chosen.reader, None, signals=chosen.signals))
        if chosen is not None and chosen.value not in (None, []):
            chosen.signals["kind"] = kinds.get(path, "str")
            rows.append(
                FieldRow(path, chosen.value, chosen.reader, chosen.evidence, signals=chosen.signals)
            )

    try:
        record, breaks = rtype.validate(unflatten(flat))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return failed(f"record failed validation at {where}: {first['msg']}", calls)
    record_flat = flatten(record)
    for row in rows:
        row.value = record_flat[row.path]
    status, error = (DocStatus.failed, one_line(errors)) if errors else (DocStatus.ok, None)
    return DocumentOutcome(
        doc,
        status,
        error,
        record,
        rows,
        breaks,
        record_flat.get(rtype.format_path) if rtype.format_path else None,
        calls,
        time.perf_counter() - started,
        notes,
    )
