// A grpc-go helloworld greeter for bench/server.ts --go: same wire contract as app/server.ts
// (reply "Hello <name> from <POD_NAME>", response header `hostname`). Builds offline in GOPATH mode
// against Debian's golang-google-grpc-dev (grpc-go 1.33). HelloRequest/HelloReply are wire-identical to
// google.protobuf.StringValue (field 1, string), so the stock proto codec is used without generated code.
//go:build ignore
// +build ignore

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/golang/protobuf/ptypes/wrappers"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

type greeterServer interface {
	SayHello(context.Context, *wrappers.StringValue) (*wrappers.StringValue, error)
}

type greeter struct{ pod string }

func (g *greeter) SayHello(ctx context.Context, in *wrappers.StringValue) (*wrappers.StringValue, error) {
	grpc.SetHeader(ctx, metadata.Pairs("hostname", g.pod))
	return &wrappers.StringValue{Value: "Hello " + in.Value + " from " + g.pod}, nil
}

func sayHelloHandler(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(wrappers.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	return srv.(greeterServer).SayHello(ctx, in)
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "helloworld.Greeter",
	HandlerType: (*greeterServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "SayHello", Handler: sayHelloHandler}},
}

func main() {
	host := flag.String("host", "127.0.0.1", "address")
	port := flag.Int("port", 0, "port; 0 picks one")
	flag.Parse()
	pod := os.Getenv("POD_NAME")
	lis, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	s.RegisterService(&serviceDesc, &greeter{pod: pod})
	line, _ := json.Marshal(map[string]interface{}{"msg": "listening", "port": lis.Addr().(*net.TCPAddr).Port, "pod": pod})
	fmt.Println(string(line))
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		s.GracefulStop()
	}()
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
