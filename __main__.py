"""argo-fanout's Pulumi program: read the stack's config once, then build the Platform.

A bad value raises config.ConfigError, a pulumi.RunError: the CLI prints its one line (key,
value unless secret, what is allowed) without a traceback.
"""

import pulumi
from pulumi.runtime import config as runtime_config

from infra import config
from infra.platform import Platform, PlatformArgs

# Read under the current project's name: `pulumi new` may have named it anything.
project = config.ProjectConfig(
    pulumi.get_project(),
    {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()},
)
for key in project.aliased:
    pulumi.log.warn(
        f"{config.PROJECT}:{key} is read as {project.project}:{key} (this project is named "
        f"{project.project!r}); rename the key in the stack file"
    )
settings = config.load(project, pulumi.get_stack(), region=pulumi.Config("alicloud").get("region"))
for line in settings.deprecations:
    pulumi.log.warn(line)
Platform(config.PROJECT, PlatformArgs(config=settings)).export()
