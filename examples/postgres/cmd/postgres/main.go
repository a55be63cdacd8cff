// Command postgres serves the Bank service over h2c, to register with any server that speaks the
// Restate protocol: resolute server or the official restate-server. It creates its tables in the
// database --dsn names (which needs max_prepared_transactions > 0).
package main

import (
	"context"
	"flag"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/resolute-run/resolute/examples/postgres"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen address")
	dsn := flag.String("dsn", "postgres://localhost:5432/postgres?sslmode=disable", "PostgreSQL connection string")
	limit := flag.Int64("approval-limit", 1000, "transfers of at least this amount wait for an approval (0: none)")
	flag.Parse()
	ctx := context.Background()
	db, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, postgres.Schema); err != nil {
		log.Fatalf("create tables: %v", err)
	}
	cfg := postgres.Config{DB: db, ApprovalLimit: *limit, Prepared: func(_ context.Context, id string) {
		log.Printf("prepared transaction %s", id)
	}}
	log.Printf("postgres deployment listening on %s", *addr)
	log.Fatal(postgres.Endpoint(cfg).ListenAndServe(*addr))
}
