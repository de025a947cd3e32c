// Command https_get fetches the URL in its first argument with Go's
// default client, which trusts only the system certificates, and prints
// the status or the error.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(os.Args[1])
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	resp.Body.Close()
	fmt.Println("status:", resp.StatusCode)
}
