import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { resolveEnv } from "./stack-env";

/** A Logs Insights query over the log groups of some functions (by their folder name). */
export interface SavedQuery {
    /** `ses-mail/<env>/<id>` */
    id: string;
    /** Functions (folders under functions/) whose log groups it reads; "pipe" is the routing pipe's group. */
    sources: string[];
    /** Fields of the log records the query relies on (nested ones dotted, as Logs Insights names them); tests check the functions (and the pipe, from a fixture of its log schema) really log them. */
    fields: string[];
    /** The Logs Insights query. */
    queryString: string;
}

const fields = (names: string[]) => `fields @timestamp, ${names.join(", ")}`;

/** The saved queries, written against the JSON fields our functions log (Powertools: level, message, service). */
export function savedQueries(): SavedQuery[] {
    const q = (id: string, sources: string[], used: string[], rest: string): SavedQuery => ({ id, sources, fields: used, queryString: `${fields(used)}\n${rest}` });
    return [
        // The pipe's own records are not Powertools': EventBridge Pipes writes messageType (the failed
        // step), logLevel (the pipe's configured level, not a severity) and error.message ("EventBridge
        // Pipes log schema reference"). Its failures are the records with an error.
        q("router-enrichment-errors", ["router", "pipe"], ["level", "message", "sqsMessageId", "reason", "messageType", "logLevel", "error.message"],
            "| filter level = \"ERROR\" or level = \"WARN\" or ispresent(error.message)\n| sort @timestamp desc\n| limit 200"),
        q("gmail-forwarder-failures", ["gmail-forwarder"], ["level", "message", "messageId", "target", "reason", "action"],
            "| filter level in [\"WARN\", \"ERROR\"]\n| stats count(*) as failures by action, reason\n| sort failures desc"),
        q("bouncer-failures", ["bouncer"], ["level", "message", "messageId", "source", "reason", "action"],
            "| filter level = \"ERROR\" or action = \"bounce-suppressed\"\n| sort @timestamp desc\n| limit 200"),
        q("routing-decision-analysis", ["router"], ["message", "action", "reason", "target"],
            "| filter message = \"Routing decision\"\n| stats count(*) as decisions by action, reason, target\n| sort decisions desc"),
        q("email-end-to-end-trace", ["router", "gmail-forwarder", "bouncer"], ["service", "message", "messageId", "action", "target", "recipient", "reason"],
            "| filter messageId = \"REPLACE_WITH_SES_MESSAGE_ID\"\n| sort @timestamp asc"),
        q("dlq-message-investigation", ["router", "gmail-forwarder", "bouncer", "feedback-worker"], ["level", "service", "message", "reason", "sqsMessageId"],
            "| filter level = \"ERROR\"\n| stats count(*) as errors, latest(reason) as lastReason by service, message\n| sort errors desc"),
        // Lambda's own JSON platform report (logFormat JSON), not our fields.
        { id: "performance-analysis", sources: ["router", "gmail-forwarder", "bouncer", "feedback-worker"], fields: [],
            queryString: "filter type = \"platform.report\"\n| stats count(*) as invocations, avg(record.metrics.durationMs) as avgMs, pct(record.metrics.durationMs, 99) as p99Ms, max(record.metrics.maxMemoryUsedMB) as maxMemoryMB by @log\n| sort p99Ms desc" },
    ];
}

/** Arguments of {@link SavedQueries}. */
export interface SavedQueriesArgs {
    /** Environment name: queries are named `<namePrefix>/<env>/<id>`. @default the stack name (`pulumi.getStack()`) */
    env?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Function folder (or "pipe") → its log group name. Queries whose sources are all absent are skipped. */
    logGroups: Record<string, pulumi.Input<string>>;
}

/** The Logs Insights saved queries, `ses-mail/<env>/<id>`. */
export class SavedQueries extends pulumi.ComponentResource {
    /** The query definitions created. */
    public readonly definitions: aws.cloudwatch.QueryDefinition[];

    constructor(name: string, args: SavedQueriesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:SavedQueries", name, {}, opts);
        const env = resolveEnv("SavedQueries", args.env);
        this.definitions = savedQueries()
            .map((query) => ({ query, groups: query.sources.flatMap((source) => args.logGroups[source] ?? []) }))
            .filter(({ groups }) => groups.length > 0)
            .map(({ query, groups }) => new aws.cloudwatch.QueryDefinition(`${name}-${query.id}`, {
                name: `${args.namePrefix ?? "ses-mail"}/${env}/${query.id}`,
                logGroupNames: groups,
                queryString: query.queryString,
            }, { parent: this }));
        this.registerOutputs({});
    }
}
