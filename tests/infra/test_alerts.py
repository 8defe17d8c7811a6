"""The failed-job alert, as Azure receives it (offline engine): an action group emailing
`monitoring.alertEmails`, and a log alert on the workspace's run status events in the Log
Analytics workspace that the workspace's diagnostic setting feeds."""

from __future__ import annotations

import pytest

from infra.diagnostics import ALL_LOGS
from infra.monitoring import FAILED_JOBS_QUERY
from infra.settings import Settings, SettingsError
from plan.offline import StackRun, run_config
from tests.infra.test_settings import parse, raw

ACTION_GROUP = "azure-native:monitor:ActionGroup"
RULE = "azure-native:monitor:ScheduledQueryRule"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
EMAILS = ["data-platform@contoso.com", "oncall@contoso.com"]


@pytest.fixture(scope="module")
def alerted() -> StackRun:
    return run_config("dev", raw(monitoring={"alertEmails": EMAILS}))


def test_action_group_emails_every_recipient(alerted: StackRun) -> None:
    group = alerted.one(ACTION_GROUP).inputs
    assert [r["emailAddress"] for r in group["emailReceivers"]] == EMAILS
    assert all(r["useCommonAlertSchema"] for r in group["emailReceivers"])
    assert len({r["name"] for r in group["emailReceivers"]}) == len(EMAILS)
    assert group["location"] == "Global"
    assert group["enabled"] is True
    assert 1 <= len(group["groupShortName"]) <= 12
    assert group["actionGroupName"] == "ag-amldask-dev"


def test_log_alert_fires_per_failed_job_on_the_workspace_logs(alerted: StackRun) -> None:
    rule = alerted.one(RULE)
    log_analytics = alerted.one(LOG_ANALYTICS)
    assert rule.inputs["scopes"] == [log_analytics.id]
    assert rule.inputs["kind"] == "LogAlert"
    assert rule.inputs["enabled"] is True
    assert rule.inputs["evaluationFrequency"] == rule.inputs["windowSize"] == "PT15M"
    assert rule.inputs["autoMitigate"] is False
    assert rule.inputs["actions"]["actionGroups"] == [alerted.one(ACTION_GROUP).id]
    [condition] = rule.inputs["criteria"]["allOf"]
    assert condition["query"] == FAILED_JOBS_QUERY
    assert FAILED_JOBS_QUERY.startswith("AmlRunStatusChangedEvent\n")
    assert '| where Status =~ "Failed"' in FAILED_JOBS_QUERY
    assert (condition["timeAggregation"], condition["operator"], condition["threshold"]) == (
        "Count",
        "GreaterThan",
        0,
    )
    assert condition["dimensions"] == [{"name": "RunId", "operator": "Include", "values": ["*"]}]
    assert (
        rule.inputs["location"]
        == alerted.one("azure-native:resources:ResourceGroup").inputs["location"]
    )


def test_the_workspace_sends_its_run_events_to_that_log_analytics(alerted: StackRun) -> None:
    """The alert reads AmlRunStatusChangedEvent, a category of the workspace's allLogs."""
    workspace = alerted.one("azure-native:machinelearningservices:Workspace")
    [setting] = [
        s
        for s in alerted.by_type("azure-native:monitor:DiagnosticSetting")
        if s.inputs["resourceUri"] == workspace.id
    ]
    assert setting.inputs["workspaceId"] == alerted.one(LOG_ANALYTICS).id
    assert {"categoryGroup": ALL_LOGS, "enabled": True} in setting.inputs["logs"]


def test_alert_resources_carry_the_stack_tags(alerted: StackRun) -> None:
    from policy.tags import REQUIRED_TAGS, TAGGABLE_TYPES

    for type_ in (ACTION_GROUP, RULE):
        assert type_ in TAGGABLE_TYPES
        tags = alerted.one(type_).inputs["tags"]
        assert all(tags.get(tag) for tag in REQUIRED_TAGS), (type_, tags)


def test_no_recipients_no_alert(stack_run: StackRun, stack_settings: Settings) -> None:
    expected = 1 if stack_settings.monitoring.alert_emails else 0
    assert len(stack_run.by_type(ACTION_GROUP)) == expected
    assert len(stack_run.by_type(RULE)) == expected


@pytest.mark.parametrize(
    ("emails", "message"),
    [
        (["not-an-address"], "monitoring.alertEmails[0] = 'not-an-address': must be an email"),
        (["a@b.com", "ops"], "monitoring.alertEmails[1] = 'ops'"),
        (["a@b.com", "A@b.com"], "must not list the same address twice"),
    ],
)
def test_bad_alert_emails_name_the_key(emails: list[str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        parse(monitoring={"alertEmails": emails})
    assert message in str(error.value)
