//go:build tools

// Package tools keeps the module upstream's generate.go imports (build.sh runs that file).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
