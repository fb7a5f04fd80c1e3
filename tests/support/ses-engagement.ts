// The event types SES publishes only when a configuration set asks for them (open and click tracking,
// list management), shaped as "Examples of event data that Amazon SES publishes to Amazon SNS" and
// "Contents of event data that Amazon SES publishes to Amazon SNS" (Open, Click and Subscription
// objects) show them. The other types are in tests/fixtures/ses-feedback.ts.
import { ACCOUNT } from "../fixtures/ses-feedback";

export interface EngagementMail {
    messageId?: string;
    destination?: string[];
    from?: string;
    tags?: Record<string, string[]>;
    timestamp?: string;
}

function mail(o: EngagementMail) {
    const destination = o.destination ?? ["recipient@example.com"];
    const from = o.from ?? "sender@example.com";
    const messageId = o.messageId ?? "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000";
    return {
        commonHeaders: { from: [from], messageId, subject: "Message sent from Amazon SES", to: destination },
        destination,
        headers: [
            { name: "X-SES-CONFIGURATION-SET", value: "ses-mail-outbound-test" },
            { name: "From", value: from },
            { name: "To", value: destination.join(", ") },
            { name: "Subject", value: "Message sent from Amazon SES" },
        ],
        headersTruncated: false,
        messageId,
        sendingAccountId: ACCOUNT,
        source: from,
        tags: o.tags ?? { "ses:configuration-set": ["ses-mail-outbound-test"], "ses:from-domain": ["example.com"] },
        timestamp: o.timestamp ?? "2017-08-09T21:59:49.927Z",
    };
}

export function open(o: EngagementMail = {}, at = "2017-08-09T22:00:19.652Z") {
    return {
        eventType: "Open",
        mail: mail(o),
        open: { ipAddress: "192.0.2.1", timestamp: at, userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like Gecko) Mobile/14G60" },
    };
}

export function click(o: EngagementMail = {}, at = "2017-08-09T23:51:25.570Z", link = "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html") {
    return {
        eventType: "Click",
        click: {
            ipAddress: "192.0.2.1",
            link,
            linkTags: { samplekey0: ["samplevalue0"], samplekey1: ["samplevalue1"] },
            timestamp: at,
            userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.90 Safari/537.36",
        },
        mail: mail(o),
    };
}

/** A contact changed its topic preferences through the list-unsubscribe header or link. */
export function subscription(o: EngagementMail = {}, at = "2022-01-12T01:00:14.340Z", unsubscribeAll = true) {
    const preferences = (all: boolean) => ({
        unsubscribeAll: all,
        topicSubscriptionStatus: [{ topicName: "ExampleTopicName", subscriptionStatus: all ? "OptOut" : "OptIn" }],
    });
    return {
        eventType: "Subscription",
        mail: mail(o),
        subscription: {
            contactList: "ContactListName",
            timestamp: at,
            source: "UnsubscribeHeader",
            newTopicPreferences: preferences(unsubscribeAll),
            oldTopicPreferences: preferences(false),
        },
    };
}
