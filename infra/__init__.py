"""The argo-fanout Pulumi program: one ComponentResource per concern, wired by infra.platform."""
