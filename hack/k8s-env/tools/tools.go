//go:build tools

// Keeps helm in this module's requirements so build.sh can compile it from the committed go.sum.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
