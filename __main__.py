"""The Pulumi program: read the stack's settings, build the platform, export its outputs."""

from infra.outputs import export_outputs
from infra.platform import Platform
from infra.settings import read_settings

settings = read_settings()
platform = Platform("azureml-dask", settings)
export_outputs(platform)
