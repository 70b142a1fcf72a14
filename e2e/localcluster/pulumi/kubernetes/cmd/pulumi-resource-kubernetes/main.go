// Command pulumi-resource-kubernetes serves the Kubernetes provider of the module this go.mod
// requires. It does what upstream's cmd/pulumi-resource-kubernetes/main.go does; the two files it
// embeds are written next to it by ../../build.sh (from upstream's schema.json and
// terraform-mapping.json, through upstream's generate.go) and are not committed.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
