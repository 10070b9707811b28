/** Environments, connections and variables. Secret values never leave the server. */
import { z } from "zod";
import { NotFoundError } from "../../core/errors.js";
import { defineRoute, type AnyRoute } from "../route.js";
import {
  ConnectionInput, ConnectionList, ConnectionView, Deleted, EnvironmentList, EnvironmentView, Id, VariableInput,
  VariableList, VariableView,
} from "../schemas.js";
import { connectionView, environmentView, variableView } from "../views.js";

const NameParams = z.object({ name: Id });
const ConnParams = z.object({ connId: Id });
const KeyParams = z.object({ key: Id });

/** The environment, connection and variable routes. */
export const resourceRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/environments", operationId: "listEnvironments", tag: "Environments", role: "read",
    summary: "Sealed environments: name, key, state, size, last use and the tasks using each", response: EnvironmentList,
    async handler({ services: { core } }) {
      return { environments: (await core.listEnvironments()).map(environmentView) };
    },
  }),
  defineRoute({
    method: "GET", path: "/environments/{name}", operationId: "getEnvironment", tag: "Environments", role: "read",
    errors: [404], summary: "One environment", params: NameParams, response: EnvironmentView,
    async handler({ params, services: { core } }) {
      const found = (await core.listEnvironments()).map(environmentView).find((e) => e.name === params.name);
      if (!found) throw new NotFoundError("Environment", params.name, "Create it under environments/<name>/ or list them with GET /api/v1/environments");
      return found;
    },
  }),
  defineRoute({
    method: "GET", path: "/connections", operationId: "listConnections", tag: "Connections", role: "read",
    summary: "Connections (passwords never returned; secret extra values shown as ***)", response: ConnectionList,
    async handler({ services: { core } }) {
      return { connections: (await core.listConnections()).map(connectionView) };
    },
  }),
  defineRoute({
    method: "POST", path: "/connections", operationId: "addConnection", tag: "Connections", role: "admin", status: 201,
    errors: [409], summary: "Add or replace a connection (from fields or a URI)", body: ConnectionInput, response: ConnectionView,
    async handler({ body, services: { core } }) {
      await core.addConnection(body);
      const listed = (await core.listConnections()).map(connectionView).find((c) => c.connId === body.connId);
      return listed ?? connectionView({ ...body, password: undefined, hasPassword: body.password !== undefined });
    },
  }),
  defineRoute({
    method: "DELETE", path: "/connections/{connId}", operationId: "deleteConnection", tag: "Connections", role: "admin",
    errors: [404], summary: "Delete a connection", params: ConnParams, response: Deleted,
    async handler({ params, services: { core } }) {
      const known = (await core.listConnections()).some((c) => connectionView(c).connId === params.connId);
      if (!known) throw new NotFoundError("Connection", params.connId, "List connections with GET /api/v1/connections");
      await core.deleteConnection(params.connId);
      return { deleted: true };
    },
  }),
  defineRoute({
    method: "GET", path: "/variables", operationId: "listVariables", tag: "Variables", role: "read",
    summary: "Variables (values of secret ones are never returned)", response: VariableList,
    async handler({ services: { core } }) {
      return { variables: (await core.listVariables()).map(variableView) };
    },
  }),
  defineRoute({
    method: "GET", path: "/variables/{key}", operationId: "getVariable", tag: "Variables", role: "read", errors: [404],
    summary: "A variable (a secret one without its value)", params: KeyParams, response: VariableView,
    async handler({ params, services: { core } }) {
      // The public list is used so that a secret value cannot leak through this route.
      const found = (await core.listVariables()).map(variableView).find((v) => v.key === params.key);
      if (!found) throw new NotFoundError("Variable", params.key, "List variables with GET /api/v1/variables");
      return found;
    },
  }),
  defineRoute({
    method: "PUT", path: "/variables/{key}", operationId: "setVariable", tag: "Variables", role: "admin",
    summary: "Set a variable; `secret: true` stores it encrypted and hides it from every read",
    params: KeyParams, body: VariableInput, response: VariableView,
    async handler({ params, body, services: { core } }) {
      await core.setVariable(params.key, body.value, { secret: body.secret, description: body.description });
      const found = (await core.listVariables()).map(variableView).find((v) => v.key === params.key);
      return found ?? variableView({ key: params.key, value: body.value, isSecret: body.secret === true, description: body.description });
    },
  }),
  defineRoute({
    method: "DELETE", path: "/variables/{key}", operationId: "deleteVariable", tag: "Variables", role: "admin", errors: [404],
    summary: "Delete a variable", params: KeyParams, response: Deleted,
    async handler({ params, services: { core } }) {
      const known = (await core.listVariables()).some((v) => variableView(v).key === params.key);
      if (!known) throw new NotFoundError("Variable", params.key, "List variables with GET /api/v1/variables");
      await core.deleteVariable(params.key);
      return { deleted: true };
    },
  }),
];
