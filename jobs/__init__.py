"""The Dask job: sample data, the analysis, and its Azure ML submission (never imports infra/)."""
