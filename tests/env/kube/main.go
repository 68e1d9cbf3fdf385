// Command kube is one binary for the three Kubernetes control-plane components the tests run:
//
//	kube apiserver [flags]            upstream kube-apiserver
//	kube controller-manager [flags]   upstream kube-controller-manager
//	kube scheduler [flags]            upstream kube-scheduler
//
// One binary instead of three because they share almost all of their code: one link step and a third of the
// disk. The main functions mirror upstream's cmd/<component>/<component>.go, so behaviour is upstream's.
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // CronJob time zones, as upstream's mains do

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as upstream
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var components = map[string]func() *cobra.Command{
	"apiserver":          func() *cobra.Command { return apiserver.NewAPIServerCommand() },
	"controller-manager": func() *cobra.Command { return controllermanager.NewControllerManagerCommand() },
	"scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
}

func main() {
	if len(os.Args) < 2 || components[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: kube {apiserver|controller-manager|scheduler} [flags]")
		os.Exit(2)
	}
	command := components[os.Args[1]]()
	// cobra reads os.Args[1:]; drop the subcommand so each component sees only its own flags.
	command.SetArgs(os.Args[2:])
	os.Exit(cli.Run(command))
}
