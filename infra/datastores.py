"""Datastores: one ADLS Gen2 datastore per data lake filesystem."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra.access import ServicePrincipalCredentials
from infra.placement import Placement
from infra.settings import datastore_name


class Datastores(pulumi.ComponentResource):
    """Identity-based datastores, plus service-principal ones when a principal exists."""

    datastores: list[ml.Datastore]

    def __init__(
        self,
        name: str,
        *,
        filesystems: tuple[str, ...],
        data_lake_name: pulumi.Input[str],
        workspace_name: pulumi.Input[str],
        service_principal: ServicePrincipalCredentials | None,
        tenant_id: pulumi.Input[str],
        placement: Placement,
        private_networking: bool,
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("azureml-dask:datastores:Datastores", name, None, opts)
        # Datastores are validated against the lake: create them once the roles exist.
        child = pulumi.ResourceOptions(parent=self, depends_on=depends_on)

        def datastore(
            store: str,
            filesystem: str,
            credentials,
            description: str,
            skip_validation: bool,
            service_identity: str | None = None,
        ) -> ml.Datastore:
            return ml.Datastore(
                f"datastore-{store}",
                name=store,
                workspace_name=workspace_name,
                resource_group_name=placement.resource_group_name,
                properties=ml.AzureDataLakeGen2DatastoreArgs(
                    datastore_type="AzureDataLakeGen2",
                    account_name=data_lake_name,
                    filesystem=filesystem,
                    endpoint="core.windows.net",
                    protocol="https",
                    credentials=credentials,
                    description=description,
                    tags=dict(placement.tags),
                    service_data_access_auth_identity=service_identity,
                ),
                skip_validation=skip_validation,
                opts=child,
            )

        self.datastores = [
            datastore(
                datastore_name(fs),
                fs,
                ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                f"Data lake filesystem {fs}; access with the caller's own identity.",
                # Validation runs as the deployer, who holds no data role (least privilege).
                True,
                # Studio reaches a lake behind a private network as the workspace identity
                # (the SDK has this on the datastore, not the workspace).
                # https://learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network
                ml.ServiceDataAccessAuthIdentity.WORKSPACE_SYSTEM_ASSIGNED_IDENTITY
                if private_networking
                else None,
            )
            for fs in filesystems
        ]
        if service_principal is not None:
            self.datastores += [
                datastore(
                    f"{datastore_name(fs)}_sp",
                    fs,
                    ml.ServicePrincipalDatastoreCredentialsArgs(
                        credentials_type="ServicePrincipal",
                        client_id=service_principal.client_id,
                        tenant_id=tenant_id,
                        secrets=ml.ServicePrincipalDatastoreSecretsArgs(
                            secrets_type="ServicePrincipal",
                            client_secret=service_principal.client_secret,
                        ),
                    ),
                    f"Data lake filesystem {fs}; access as the stack's service principal.",
                    # Azure ML would test the credentials against the lake at once, before
                    # the new role assignment has propagated (minutes): check on first use.
                    True,
                )
                for fs in filesystems
            ]
        self.register_outputs({"datastoreNames": [d.name for d in self.datastores]})
