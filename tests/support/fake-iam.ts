// An in-memory IAM behind aws-sdk-client-mock, so lifecycle tests assert the state IAM ends in
// (users, keys, policies, boundaries) and can make any step fail. It refuses what the manager's
// role refuses (SmtpCredentials): a user created without the boundary, a policy put on a user that
// does not carry it, any other boundary.
import {
    CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, DeleteUserCommand, DeleteUserPolicyCommand, GetUserCommand, GetUserPolicyCommand,
    IAMClient, ListAccessKeysCommand, ListUserPoliciesCommand, NoSuchEntityException, PutUserPermissionsBoundaryCommand, PutUserPolicyCommand,
    UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";

/** The SMTP users' permissions boundary, as SmtpCredentials hands it to the manager. */
export const SMTP_USER_BOUNDARY = "arn:aws:iam::123456789012:policy/ses-mail/test/ses-mail-smtp-user-boundary-test-20250118";

export interface FakeUser {
    path: string;
    /** The permissions boundary's ARN; undefined: none (a user from before the boundary). */
    permissionsBoundary?: string;
    tags: Record<string, string>;
    policies: Record<string, string>;
    keys: { id: string; secret: string; status: "Active" | "Inactive" }[];
}

export class FakeIam {
    public readonly users = new Map<string, FakeUser>();
    public readonly stub: AwsClientStub<IAMClient>;
    /** Command name → error to throw once. */
    public readonly failNext = new Map<string, Error>();
    /**
     * Called before every command: an error to throw instead of running it (`after: true`: run it,
     * then throw — the call took effect but its caller never learnt, as when a Lambda dies).
     */
    public fault?: (command: string) => { error: Error; after?: boolean } | undefined;
    private counter = 0;

    constructor(public readonly client = new IAMClient({ region: "us-east-1" }), public readonly permissionsBoundaryArn = SMTP_USER_BOUNDARY) {
        this.stub = mockClient(client);
        // The role's condition: iam:PermissionsBoundary (the request's for CreateUser and
        // PutUserPermissionsBoundary, the user's for PutUserPolicy) must be the boundary.
        const requireBoundary = (action: string, boundary: string | undefined) => {
            if (boundary !== this.permissionsBoundaryArn) {
                throw Object.assign(new Error(`User is not authorized to perform: iam:${action} because no identity-based policy allows the iam:${action} action`), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
            }
        };
        const user = (name?: string) => {
            const found = this.users.get(name ?? "");
            if (!found) throw new NoSuchEntityException({ message: `The user with name ${name} cannot be found.`, $metadata: {} });
            return found;
        };
        // Async like the real client: failures reject rather than throw.
        const guard = async <T>(command: string, run: () => T): Promise<T> => {
            const error = this.failNext.get(command);
            if (error) {
                this.failNext.delete(command);
                throw error;
            }
            const fault = this.fault?.(command);
            if (fault && !fault.after) throw fault.error;
            const result = run();
            if (fault) throw fault.error;
            return result;
        };
        this.stub.on(GetUserCommand).callsFake((i) => guard("GetUser", () => {
            const { permissionsBoundary } = user(i.UserName);
            return { User: { UserName: i.UserName, Arn: this.arn(i.UserName!), ...(permissionsBoundary ? { PermissionsBoundary: { PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: permissionsBoundary } } : {}) } };
        }));
        this.stub.on(CreateUserCommand).callsFake((i) => guard("CreateUser", () => {
            requireBoundary("CreateUser", i.PermissionsBoundary);
            if (this.users.has(i.UserName!)) throw Object.assign(new Error(`User with name ${i.UserName} already exists.`), { name: "EntityAlreadyExists" });
            this.users.set(i.UserName!, { path: i.Path ?? "/", permissionsBoundary: i.PermissionsBoundary, tags: Object.fromEntries((i.Tags ?? []).map((t: { Key: string; Value: string }) => [t.Key, t.Value])), policies: {}, keys: [] });
            return { User: { UserName: i.UserName, Arn: this.arn(i.UserName!, i.Path) } };
        }));
        this.stub.on(PutUserPermissionsBoundaryCommand).callsFake((i) => guard("PutUserPermissionsBoundary", () => {
            requireBoundary("PutUserPermissionsBoundary", i.PermissionsBoundary);
            user(i.UserName).permissionsBoundary = i.PermissionsBoundary;
            return {};
        }));
        this.stub.on(PutUserPolicyCommand).callsFake((i) => guard("PutUserPolicy", () => {
            const target = user(i.UserName);
            requireBoundary("PutUserPolicy", target.permissionsBoundary);
            target.policies[i.PolicyName!] = i.PolicyDocument!;
            return {};
        }));
        // IAM returns the document URL-encoded.
        this.stub.on(GetUserPolicyCommand).callsFake((i) => guard("GetUserPolicy", () => {
            const document = user(i.UserName).policies[i.PolicyName!];
            if (document === undefined) throw new NoSuchEntityException({ message: `The user policy with name ${i.PolicyName} cannot be found.`, $metadata: {} });
            return { UserName: i.UserName, PolicyName: i.PolicyName, PolicyDocument: encodeURIComponent(document) };
        }));
        this.stub.on(DeleteUserPolicyCommand).callsFake((i) => guard("DeleteUserPolicy", () => { delete user(i.UserName).policies[i.PolicyName!]; return {}; }));
        this.stub.on(ListUserPoliciesCommand).callsFake((i) => guard("ListUserPolicies", () => ({ PolicyNames: Object.keys(user(i.UserName).policies) })));
        this.stub.on(CreateAccessKeyCommand).callsFake((i) => guard("CreateAccessKey", () => {
            const u = user(i.UserName);
            if (u.keys.length >= 2) throw Object.assign(new Error("Cannot exceed quota for AccessKeysPerUser: 2"), { name: "LimitExceeded" });
            this.counter += 1;
            const key = { id: `AKIAFAKE${String(this.counter).padStart(12, "0")}`, secret: `secret/${this.counter}/${"x".repeat(30)}`, status: "Active" as const };
            u.keys.push(key);
            return { AccessKey: { UserName: i.UserName, AccessKeyId: key.id, SecretAccessKey: key.secret, Status: "Active" } };
        }));
        this.stub.on(UpdateAccessKeyCommand).callsFake((i) => guard("UpdateAccessKey", () => {
            const key = user(i.UserName).keys.find((k) => k.id === i.AccessKeyId);
            if (!key) throw new NoSuchEntityException({ message: "no such key", $metadata: {} });
            key.status = i.Status;
            return {};
        }));
        this.stub.on(DeleteAccessKeyCommand).callsFake((i) => guard("DeleteAccessKey", () => {
            const u = user(i.UserName);
            if (!u.keys.some((k) => k.id === i.AccessKeyId)) throw new NoSuchEntityException({ message: "no such key", $metadata: {} });
            u.keys = u.keys.filter((k) => k.id !== i.AccessKeyId);
            return {};
        }));
        this.stub.on(ListAccessKeysCommand).callsFake((i) => guard("ListAccessKeys", () => ({ AccessKeyMetadata: user(i.UserName).keys.map((k) => ({ AccessKeyId: k.id, Status: k.status })) })));
        this.stub.on(DeleteUserCommand).callsFake((i) => guard("DeleteUser", () => {
            const u = user(i.UserName);
            if (u.keys.length || Object.keys(u.policies).length) throw Object.assign(new Error("Cannot delete entity, must delete access keys and policies first."), { name: "DeleteConflict" });
            this.users.delete(i.UserName!);
            return {};
        }));
    }

    private arn(name: string, path = "/ses-mail/test/"): string {
        return `arn:aws:iam::123456789012:user${path}${name}`;
    }
}
