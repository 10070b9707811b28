import { dag, fn, http } from "airlock";

// The http operator calls an endpoint of a connection; the response body (parsed when it is JSON) is its XCom.
// Point the connection "orders_api" at your service first, e.g.
//   airlock connections add orders_api --uri http://127.0.0.1:8000
// (or AIRLOCK_CONN_ORDERS_API=http://127.0.0.1:8000). A login/password in the connection is sent as Basic auth.
export default dag({
  id: "http_api",
  description: "GET and POST against a connection, with templated path and body and an expected status",
  params: { customer: "c-42" },
  tags: ["example", "http"],
}, () => {
  const health = http({ id: "health", connection: "orders_api", path: "/health", expectedStatus: 200 });

  const create = http({
    id: "create_order",
    connection: "orders_api",
    method: "POST",
    path: "/orders/{{ ds }}",
    // Objects are sent as JSON; their string values are templated.
    body: { customer: "{{ params.customer }}", day: "{{ ds }}", items: ["apples", "pears"] },
    headers: { "x-run-id": "{{ run_id }}" },
    expectedStatus: [200, 201],
    requestTimeout: "10s",
  });

  const confirm = fn({
    id: "confirm",
    run: async (ctx) => {
      const order = ctx.xcom.pull<{ id: string; customer: string }>("create_order");
      ctx.log.info(`order ${order.id} created for ${order.customer}`);
      return order.id;
    },
  });

  health.then(create).then(confirm);
});
