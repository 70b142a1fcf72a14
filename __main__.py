"""argo-fanout's Pulumi program: read the stack's config once, then build the Platform."""

import pulumi

from infra import config
from infra.platform import Platform, PlatformArgs

settings = config.load(
    pulumi.Config(config.PROJECT),
    pulumi.get_stack(),
    region=pulumi.Config("alicloud").get("region"),
)
Platform(config.PROJECT, PlatformArgs(config=settings)).export()
