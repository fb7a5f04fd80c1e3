// Whether this stack's configuration set may send, and the record of who paused or resumed it, when
// and why. Used by the emergency brake (functions/sending-brake) and `ses-mail sending`.
//
// SES itself holds the switch (GetConfigurationSet → SendingOptions.SendingEnabled); the record
// lives in FeedbackPipeline's senders table, one item per change:
//   pk = SENDING#<configuration set>, sk = CHANGE#<ISO time>#<pause|resume>
// The senders table is chosen over tags on the configuration set because Pulumi owns those tags (a
// refresh-then-up would delete tags it did not set) and tag values refuse most punctuation, while a
// reason is free text; the table is encrypted, point-in-time recovered and deletion-protected, and the
// brake's role can be limited to this one partition (dynamodb:LeadingKeys).
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetConfigurationSetCommand, PutConfigurationSetSendingOptionsCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";

export const SENDING_PK_PREFIX = "SENDING#";
const CHANGE_PREFIX = "CHANGE#";

export type SendingAction = "pause" | "resume";

/** One pause or resume, as recorded. */
export interface SendingChange {
    configurationSet: string;
    action: SendingAction;
    /** ISO 8601 (UTC, milliseconds): the alarm's state-change time for the brake, else when the operator acted. */
    at: string;
    /** The STS caller ARN of an operator, or the alarm's name for the brake. */
    actor: string;
    source: "brake" | "operator";
    reason: string;
    /** The alarm that pulled the brake. */
    alarmName?: string;
    /** When the alarm topic was told (brake only). */
    announcedAt?: string;
}

/** The partition key of a configuration set's records (the brake's role may touch only this one). */
export function sendingPartitionKey(configurationSetName: string): string {
    return `${SENDING_PK_PREFIX}${configurationSetName}`;
}

/** The sort key: time first, so the newest change is the last item of the partition. */
export function changeSortKey(change: Pick<SendingChange, "at" | "action">): string {
    return `${CHANGE_PREFIX}${change.at}#${change.action}`;
}

/** CloudWatch writes `2019-10-02T17:04:40.985+0000`; records keep `toISOString()` so they sort as text. */
export function normaliseTimestamp(value: string): string {
    const time = Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
    if (!Number.isFinite(time)) throw new Error(`Not a timestamp: ${value}`);
    return new Date(time).toISOString();
}

type Item = Record<string, unknown>;

function toItem(change: SendingChange): Item {
    return {
        pk: sendingPartitionKey(change.configurationSet),
        sk: changeSortKey(change),
        entity_type: "SENDING_CHANGE",
        configuration_set: change.configurationSet,
        action: change.action,
        at: change.at,
        actor: change.actor,
        source: change.source,
        reason: change.reason,
        alarm_name: change.alarmName,
        announced_at: change.announcedAt,
    };
}

function fromItem(item: Item): SendingChange {
    const text = (key: string) => (typeof item[key] === "string" ? (item[key] as string) : undefined);
    return {
        configurationSet: text("configuration_set") ?? "",
        action: text("action") === "resume" ? "resume" : "pause",
        at: text("at") ?? "",
        actor: text("actor") ?? "unknown",
        source: text("source") === "brake" ? "brake" : "operator",
        reason: text("reason") ?? "",
        ...(text("alarm_name") ? { alarmName: text("alarm_name") } : {}),
        ...(text("announced_at") ? { announcedAt: text("announced_at") } : {}),
    };
}

export interface SendingLogOptions {
    tableName: string;
    configurationSetName: string;
    client?: DynamoDBClient;
}

/** The pause/resume records of one configuration set. */
export class SendingLog {
    private readonly doc: DynamoDBDocumentClient;
    public readonly tableName: string;
    public readonly configurationSetName: string;

    constructor(options: SendingLogOptions) {
        this.tableName = options.tableName;
        this.configurationSetName = options.configurationSetName;
        this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
    }

    /**
     * Writes a change once: the same change again (a duplicate alarm notification, a retry) finds the
     * first one, which is returned with `created: false`.
     */
    public async record(change: SendingChange): Promise<{ created: boolean; change: SendingChange }> {
        if (change.configurationSet !== this.configurationSetName) throw new Error(`A change of ${change.configurationSet} does not belong in the log of ${this.configurationSetName}.`);
        try {
            await this.doc.send(new PutCommand({ TableName: this.tableName, Item: toItem(change), ConditionExpression: "attribute_not_exists(pk)" }));
            return { created: true, change };
        } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
            const { Item: item } = await this.doc.send(new GetCommand({
                TableName: this.tableName, Key: { pk: sendingPartitionKey(this.configurationSetName), sk: changeSortKey(change) }, ConsistentRead: true,
            }));
            return { created: false, change: item ? fromItem(item) : change };
        }
    }

    public async markAnnounced(change: SendingChange, at: string): Promise<void> {
        await this.doc.send(new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: sendingPartitionKey(this.configurationSetName), sk: changeSortKey(change) },
            UpdateExpression: "SET announced_at = :at",
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeValues: { ":at": at },
        }));
    }

    /** The newest changes first (read consistently: the CLI reads right after it writes). */
    public async history(limit = 10): Promise<SendingChange[]> {
        const { Items: items } = await this.doc.send(new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :change)",
            ExpressionAttributeValues: { ":pk": sendingPartitionKey(this.configurationSetName), ":change": CHANGE_PREFIX },
            ScanIndexForward: false,
            Limit: limit,
            ConsistentRead: true,
        }));
        return (items ?? []).map(fromItem);
    }
}

/** SES's own switch for one configuration set. */
export class SendingSwitch {
    constructor(private readonly ses: SESv2Client, public readonly configurationSetName: string) {}

    /** Whether the configuration set may send (SES omits SendingOptions for a set never changed: enabled). */
    public async enabled(): Promise<boolean> {
        const { SendingOptions: options } = await this.ses.send(new GetConfigurationSetCommand({ ConfigurationSetName: this.configurationSetName }));
        return options?.SendingEnabled !== false;
    }

    /** Idempotent: pausing a paused set (or resuming an enabled one) changes nothing. */
    public async set(enabled: boolean): Promise<void> {
        await this.ses.send(new PutConfigurationSetSendingOptionsCommand({ ConfigurationSetName: this.configurationSetName, SendingEnabled: enabled }));
    }
}
