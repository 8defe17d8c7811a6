"""Monitoring: the Log Analytics workspace and the Application Insights component on it."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights

from infra.naming import ResourceNames
from infra.placement import Placement
from infra.settings import LogAnalyticsSettings


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
