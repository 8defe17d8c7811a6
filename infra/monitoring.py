"""Monitoring: the Log Analytics workspace, the Application Insights component on it, and
the alert that tells people when an Azure ML job (a scheduled run, say) fails."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from infra.naming import ResourceNames
from infra.placement import Placement
from infra.settings import LogAnalyticsSettings

# The workspace's run status events, which its diagnostic setting sends to Log Analytics
# (category AmlRunStatusChangedEvent, part of the allLogs group `workspace.TARGET` sends).
# https://learn.microsoft.com/azure/azure-monitor/reference/tables/amlrunstatuschangedevent
# https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-machinelearningservices-workspaces-logs
FAILED_JOBS_QUERY = (
    "AmlRunStatusChangedEvent\n"
    '| where Status =~ "Failed"\n'
    "| project TimeGenerated, WorkspaceName, RunId, Status, Message, _ResourceId"
)
# How often the log alert runs its query, over the same window, so each event counts once.
# https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule
ALERT_EVERY = "PT15M"


def log_analytics_workspace(
    settings: LogAnalyticsSettings,
    *,
    names: ResourceNames,
    placement: Placement,
    parent: pulumi.Resource,
) -> operationalinsights.Workspace:
    """Where every diagnostic setting and Application Insights send their data."""
    return operationalinsights.Workspace(
        "log-analytics",
        workspace_name=names.log_analytics_workspace,
        sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        retention_in_days=settings.retention_in_days,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        tags=dict(placement.tags),
        opts=placement.options(parent),
    )


def application_insights(
    *,
    log_analytics_workspace_id: pulumi.Input[str],
    names: ResourceNames,
    placement: Placement,
    parent: pulumi.Resource,
) -> applicationinsights.Component:
    """The workspace's Application Insights, storing its data in Log Analytics."""
    return applicationinsights.Component(
        "application-insights",
        resource_name_=names.application_insights,
        kind="web",
        application_type="web",
        ingestion_mode="LogAnalytics",
        workspace_resource_id=log_analytics_workspace_id,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        tags=dict(placement.tags),
        opts=placement.options(parent),
    )


def failed_jobs_alert(
    emails: Sequence[str],
    *,
    log_analytics_workspace_id: pulumi.Input[str],
    names: ResourceNames,
    placement: Placement,
    parent: pulumi.Resource,
) -> tuple[monitor.ActionGroup, monitor.ScheduledQueryRule]:
    """An action group emailing `emails`, and a log alert on the Log Analytics workspace
    that fires once per failed job (one alert per `RunId`) within 15 minutes of the failure.
    https://learn.microsoft.com/azure/templates/microsoft.insights/actiongroups
    https://learn.microsoft.com/azure/templates/microsoft.insights/scheduledqueryrules
    """
    action_group = monitor.ActionGroup(
        "action-group",
        action_group_name=names.action_group,
        group_short_name=names.action_group_short_name,
        enabled=True,
        email_receivers=[
            monitor.MicrosoftCommonEmailReceiverArgs(
                name=f"email-{index}", email_address=email, use_common_alert_schema=True
            )
            for index, email in enumerate(emails, start=1)
        ],
        location="Global",  # action groups are global resources
        resource_group_name=placement.resource_group_name,
        tags=dict(placement.tags),
        opts=placement.options(parent),
    )
    rule = monitor.ScheduledQueryRule(
        "failed-jobs-alert",
        rule_name=names.failed_jobs_alert,
        display_name="Azure ML job failed",
        description="An Azure ML job of the workspace (a scheduled run, say) ended Failed; "
        "open it in studio by its RunId.",
        kind="LogAlert",
        enabled=True,
        severity=2,
        scopes=[log_analytics_workspace_id],
        evaluation_frequency=ALERT_EVERY,
        window_size=ALERT_EVERY,
        criteria=monitor.ScheduledQueryRuleCriteriaArgs(
            all_of=[
                monitor.ConditionArgs(
                    query=FAILED_JOBS_QUERY,
                    time_aggregation="Count",
                    operator="GreaterThan",
                    threshold=0,
                    # One alert per failed job, each naming its run.
                    dimensions=[
                        monitor.DimensionArgs(name="RunId", operator="Include", values=["*"])
                    ],
                    failing_periods=monitor.ConditionFailingPeriodsArgs(
                        number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                    ),
                )
            ]
        ),
        # A failure is an event, not a state that clears: nothing to resolve automatically.
        auto_mitigate=False,
        actions=monitor.ActionsArgs(action_groups=[action_group.id]),
        location=placement.location,
        resource_group_name=placement.resource_group_name,
        tags=dict(placement.tags),
        opts=placement.options(parent),
    )
    return action_group, rule
