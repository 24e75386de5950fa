// Prints the CustomResourceDefinitions that CloudNativePG and prometheus-operator embed in
// their Go modules, for scripts/crds.py: it runs this file in a module whose go.mod pins the
// versions of k8s/versions.yaml. Usage: go run . CNPG_VERSION
package main

import (
	"fmt"
	"os"

	"github.com/cloudnative-pg/cloudnative-pg/releases"
	promcrds "github.com/prometheus-operator/prometheus-operator/example"
)

func main() {
	if len(os.Args) != 2 {
		fail(fmt.Errorf("usage: %s CNPG_VERSION", os.Args[0]))
	}
	// The release manifest holds the operator's Deployment and RBAC too; crds.py keeps the CRDs.
	cnpg, err := releases.OperatorManifests.ReadFile("cnpg-" + os.Args[1] + ".yaml")
	if err != nil {
		fail(err)
	}
	if _, err := os.Stdout.Write(cnpg); err != nil {
		fail(err)
	}
	fmt.Println("\n---")
	if err := promcrds.PrintAll(os.Stdout); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
