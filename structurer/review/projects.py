"""The Label Studio project of a report type: created once, its config kept current, its task
list made readable, and the webhook that `structurer review listen` asked for."""

from __future__ import annotations

from sqlmodel import Session

from structurer.core.report_type import ReportType
from structurer.review.labeling import ReviewConfig, config_version, label_config
from structurer.review.remote import Remote
from structurer.review.server import ReviewServerError
from structurer.store.review import create_project, find_project, set_config_version
from structurer.store.review_models import ReviewProject

WEBHOOK_ACTIONS = ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"]
# Task data that is markup or bookkeeping, and Label Studio's own columns that say nothing to
# an annotator: hidden from the task list, which keeps the task id, whether and by whom it was
# annotated, and document, body, year, n_fields, lowest_confidence, audit.
HIDDEN_DATA = ("report", "fields", "structurer")
HIDDEN_BUILTIN = (
    "inner_id",
    "cancelled_annotations",
    "total_predictions",
    "annotations_results",
    "annotations_ids",
    "predictions_score",
    "predictions_model_versions",
    "predictions_results",
    "file_upload",
    "storage_filename",
    "created_at",
    "updated_at",
    "updated_by",
    "avg_lead_time",
    "draft_exists",
)
SECRET_HEADER = "X-Structurer-Secret"


def ensure_project(
    remote: Remote, session: Session, rtype: ReportType, config: ReviewConfig
) -> ReviewProject:
    """The report type's project on this server: created on first use; its labeling config and
    model_version updated when the generated config changed (tasks pushed before keep their
    predictions under the old model_version: those no longer pre-fill), its texts every time."""
    xml = label_config(rtype, config)
    version = config_version(xml)
    row = find_project(session, remote.server, rtype.name)
    client = remote.client
    if row is None:
        with remote.calling(f"creating the review project for {rtype.name}"):
            project = client.projects.create(
                title=config.title,
                description=config.description,
                label_config=xml,
                expert_instruction=config.instructions,
                show_instruction=True,
                show_collab_predictions=True,
                model_version=version,
            )
        if project.id is None:
            raise ReviewServerError(f"Label Studio at {remote.server} created a project without id")
        return create_project(session, remote.server, rtype.name, project.id, version)
    if row.config_version != version:
        try:
            with remote.calling(f"updating the labeling config of project {row.project_id}"):
                client.projects.update(
                    id=row.project_id,
                    title=config.title,
                    description=config.description,
                    label_config=xml,
                    expert_instruction=config.instructions,
                    model_version=version,
                )
        except ReviewServerError as exc:
            if "HTTP 400" not in str(exc):
                raise
            raise ReviewServerError(
                f"{exc}: Label Studio refuses a new review form while the project holds "
                "annotations made with the old one (e.g. the one-field-per-task form of "
                "earlier versions). Pull them with the version that pushed them, then delete "
                f"project {row.project_id} in Label Studio and its row in review_projects, "
                "and push again"
            ) from None
        set_config_version(session, row, version)
    else:  # the texts may have changed without the config; this also proves the project exists
        with remote.calling(f"updating review project {row.project_id} ({rtype.name})"):
            client.projects.update(
                id=row.project_id,
                title=config.title,
                description=config.description,
                expert_instruction=config.instructions,
            )
    return row


def ensure_task_list(remote: Remote, project: ReviewProject, title: str) -> bool:
    """A task list tab (named ``title``) without the markup columns, least confident first.
    True if created or changed. (Label Studio keeps tabs per user: this is the pushing user's; others can hide the
    same columns in theirs.)"""
    hidden = [f"tasks:data.{key}" for key in HIDDEN_DATA] + [
        f"tasks:{key}" for key in HIDDEN_BUILTIN
    ]
    data = {
        "title": title,
        "hiddenColumns": {"explore": hidden, "labeling": hidden},
        "ordering": ["tasks:data.lowest_confidence"],
    }
    http = remote.client._client_wrapper.httpx_client
    with remote.calling(f"listing the task list tabs of project {project.project_id}"):
        answer = http.request("api/dm/views/", method="GET", params={"project": project.project_id})
        answer.raise_for_status()
        views = answer.json()
    ours = [v for v in views if (v.get("data") or {}).get("title") == title]
    if ours and (ours[0].get("data") or {}).get("hiddenColumns") == data["hiddenColumns"]:
        return False
    with remote.calling(f"writing the task list tab of project {project.project_id}"):
        body = {"project": project.project_id, "data": data}
        if ours:
            answer = http.request(f"api/dm/views/{ours[0]['id']}/", method="PATCH", json=body)
        else:
            answer = http.request("api/dm/views/", method="POST", json=body)
        answer.raise_for_status()
    return True


def ensure_webhook(remote: Remote, project: ReviewProject) -> bool:
    """Register the listener's webhook on the project unless it is there. True if created."""
    if not project.webhook_url:
        return False
    with remote.calling(f"listing the webhooks of project {project.project_id}"):
        hooks = remote.client.webhooks.list(project=str(project.project_id))
    if any(h.url == project.webhook_url for h in hooks):
        return False
    with remote.calling(f"registering a webhook on project {project.project_id}"):
        remote.client.webhooks.create(
            url=project.webhook_url,
            project=project.project_id,
            actions=WEBHOOK_ACTIONS,  # type: ignore[arg-type]
            send_for_all_actions=False,
            send_payload=True,
            headers={SECRET_HEADER: project.webhook_secret or ""},
            is_active=True,
        )
    return True


__all__ = [
    "SECRET_HEADER",
    "ensure_project",
    "ensure_task_list",
    "ensure_webhook",
]
