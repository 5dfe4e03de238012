"""The stand-in platform's OpenAPI 3.0 document, generated from a compact table.

A creator platform has a few hundred endpoints; writing 160 operations by hand would bury the few facts that matter
(path, method, group, body, answer) in boilerplate. Here each resource's fields are one line of a small field
language, each operation one row, and the document (parameters, request bodies, response schemas with required
fields, formats and enums, ``bearerAuth``, tags, ``x-launch-group``) is derived from them. The web service answers
from the same document (``sandbox.platform.app``), so what is documented is what is served.

Field language: ``name:type`` separated by spaces; ``name?`` is optional (never required), types are ``uuid``,
``email``, ``url``, ``datetime``, ``date``, ``bool``, ``str`` / ``str(min,max)``, ``int`` / ``int(min,max)``,
``money`` (integer cents >= 0), ``enum(a|b|c)``, ``Name`` (a reference to another schema), ``[type]`` (an array).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

API = "/api/v1"

# --- schemas ------------------------------------------------------------------------------------------------------
SCHEMAS: dict[str, str] = {
    "Error": "error:ErrorBody",
    "ErrorBody": "code:enum(bad_request|unauthorized|forbidden|not_found|conflict|server_error) message:str(1,500)",
    "Accepted": "status:enum(queued|accepted) requestId:uuid",
    "AuthSession": "accessToken:str(20,2000) refreshToken:str(20,2000) tokenType:enum(Bearer) expiresIn:int(60,86400)"
                   " user:User",
    "Session": "id:uuid device:str(1,200) ip:str(3,64) createdAt:datetime lastSeenAt:datetime current:bool",
    "TwoFactorSetup": "secret:str(16,64) otpauthUrl:url recoveryCodes:[str(8,16)]",
    "TwoFactorStatus": "enabled:bool",
    "OAuthProvider": "id:enum(google|apple|twitter) name:str(1,50) authorizeUrl:url",
    "User": "id:uuid email:email username:str(3,30) displayName:str(1,60) role:enum(fan|creator|admin)"
            " status:enum(active|suspended|deleted) emailVerified:bool avatarUrl?:url bio?:str(0,500)"
            " createdAt:datetime",
    "UserSettings": "language:enum(en|es|fr|de|pt) timezone:str(1,64) showActivity:bool allowMessages:enum(everyone"
                    "|subscribers|nobody) nsfwFilter:bool",
    "BlockedUser": "userId:uuid username:str(3,30) blockedAt:datetime",
    "Follow": "userId:uuid followerId:uuid createdAt:datetime",
    "Report": "id:uuid targetType:enum(user|post|message|comment|stream) targetId:uuid"
              " reason:enum(spam|abuse|copyright|underage|other) status:enum(open|reviewing|resolved)"
              " createdAt:datetime",
    "Creator": "id:uuid userId:uuid handle:str(3,30) displayName:str(1,60) category:enum(art|music|fitness|gaming"
               "|education|lifestyle|other) verified:bool subscriberCount:int(0,100000000) postCount:int(0,10000000)"
               " bio?:str(0,1000) bannerUrl?:url createdAt:datetime",
    "Tier": "id:uuid creatorId:uuid name:str(1,60) price:money currency:enum(usd|eur|gbp)"
            " interval:enum(month|quarter|year) benefits:[str(1,200)] active:bool",
    "CreatorStats": "creatorId:uuid subscribers:int(0,100000000) views30d:int(0,1000000000)"
                    " revenue30d:money currency:enum(usd|eur|gbp) churnRate:int(0,100)",
    "Subscriber": "userId:uuid username:str(3,30) tierId:uuid since:datetime renewsAt:datetime",
    "Earnings": "creatorId:uuid currency:enum(usd|eur|gbp) gross:money fees:money net:money pending:money"
                " periodStart:date periodEnd:date",
    "Verification": "id:uuid creatorId:uuid status:enum(pending|approved|rejected) submittedAt:datetime"
                    " documentType:enum(passport|id_card|driver_license)",
    "Subscription": "id:uuid userId:uuid creatorId:uuid tierId:uuid status:enum(active|past_due|canceled|incomplete)"
                    " autoRenew:bool currentPeriodStart:datetime currentPeriodEnd:datetime price:money"
                    " currency:enum(usd|eur|gbp)",
    "Invoice": "id:uuid subscriptionId:uuid amount:money currency:enum(usd|eur|gbp) status:enum(paid|open|void"
               "|uncollectible) pdfUrl:url createdAt:datetime",
    "SubscriptionPreview": "tierId:uuid price:money discount:money total:money currency:enum(usd|eur|gbp)",
    "Promotion": "id:uuid creatorId:uuid code:str(3,20) percentOff:int(1,100) redemptions:int(0,1000000)"
                 " expiresAt:datetime",
    "Post": "id:uuid creatorId:uuid text:str(0,5000) visibility:enum(public|subscribers|paid) price?:money"
            " mediaIds:[uuid] likeCount:int(0,100000000) commentCount:int(0,100000000) pinned:bool"
            " createdAt:datetime",
    "Like": "postId:uuid userId:uuid createdAt:datetime",
    "Comment": "id:uuid postId:uuid userId:uuid text:str(1,2000) createdAt:datetime",
    "Purchase": "id:uuid itemType:enum(post|message|stream) itemId:uuid amount:money currency:enum(usd|eur|gbp)"
                " status:enum(succeeded|processing|requires_action) createdAt:datetime",
    "Bookmark": "postId:uuid createdAt:datetime",
    "UploadTicket": "id:uuid uploadUrl:url method:enum(PUT|POST) expiresAt:datetime"
                    " status:enum(pending|uploading|complete|aborted) maxBytes:int(1,10737418240)",
    "UploadPart": "partNumber:int(1,10000) uploadUrl:url expiresAt:datetime",
    "Media": "id:uuid ownerId:uuid type:enum(image|video|audio) status:enum(processing|ready|failed)"
             " contentType:str(3,100) size:int(0,10737418240) title?:str(0,200) thumbnailUrl?:url createdAt:datetime",
    "PlaybackInfo": "mediaId:uuid hlsUrl:url expiresAt:datetime",
    "VaultFolder": "id:uuid name:str(1,100) itemCount:int(0,1000000) createdAt:datetime",
    "Conversation": "id:uuid participantIds:[uuid] lastMessageAt:datetime unreadCount:int(0,1000000)",
    "Message": "id:uuid conversationId:uuid senderId:uuid text:str(0,5000) mediaIds:[uuid] price?:money"
               " locked:bool createdAt:datetime",
    "MassMessage": "id:uuid text:str(1,5000) recipients:int(0,100000000) status:enum(queued|sending|sent)"
                   " createdAt:datetime",
    "PaymentMethod": "id:uuid brand:enum(visa|mastercard|amex|discover) last4:str(4,4) expMonth:int(1,12)"
                     " expYear:int(2024,2100) isDefault:bool",
    "PaymentIntentRef": "id:str(3,255) clientSecret:str(10,500) amount:money currency:enum(usd|eur|gbp)"
                        " status:enum(requires_payment_method|requires_confirmation|requires_action|processing"
                        "|succeeded|canceled)",
    "Transaction": "id:uuid type:enum(subscription|tip|unlock|top_up|refund) amount:money currency:enum(usd|eur|gbp)"
                   " status:enum(succeeded|pending|failed|refunded) createdAt:datetime",
    "Tip": "id:uuid creatorId:uuid amount:money currency:enum(usd|eur|gbp) message?:str(0,500) createdAt:datetime",
    "Wallet": "balance:money currency:enum(usd|eur|gbp) updatedAt:datetime",
    "TopUp": "id:uuid amount:money currency:enum(usd|eur|gbp) status:enum(succeeded|pending) createdAt:datetime",
    "Payout": "id:uuid amount:money currency:enum(usd|eur|gbp) status:enum(pending|in_transit|paid|failed|canceled)"
              " arrivalDate:date createdAt:datetime",
    "PayoutAccount": "id:uuid type:enum(bank_account|debit_card) country:str(2,2) last4:str(4,4)"
                     " status:enum(pending|verified|errored) onboardingUrl?:url",
    "Balance": "available:money pending:money currency:enum(usd|eur|gbp)",
    "PayoutSchedule": "interval:enum(daily|weekly|monthly|manual) minimumAmount:money",
    "TaxForm": "id:uuid type:enum(w9|w8ben|w8bene) status:enum(submitted|accepted|rejected) year:int(2000,2100)"
               " submittedAt:datetime",
    "LiveStream": "id:uuid creatorId:uuid title:str(1,140) status:enum(scheduled|live|ended)"
                  " visibility:enum(public|subscribers|paid) price?:money ingestUrl:str(10,500) playbackUrl:url"
                  " scheduledFor?:datetime createdAt:datetime",
    "StreamKey": "streamId:uuid streamKey:str(20,100) ingestUrl:str(10,500) rotatedAt:datetime",
    "ViewerStats": "streamId:uuid current:int(0,10000000) peak:int(0,10000000) total:int(0,1000000000)",
    "ChatMessage": "id:uuid streamId:uuid userId:uuid text:str(1,500) createdAt:datetime",
    "Recording": "streamId:uuid mediaId:uuid durationSeconds:int(0,86400) status:enum(processing|ready|failed)",
    "Notification": "id:uuid type:enum(new_subscriber|new_message|new_tip|post_liked|stream_live|payout_paid)"
                    " title:str(1,200) body:str(0,1000) read:bool createdAt:datetime",
    "UnreadCount": "count:int(0,1000000)",
    "NotificationPreferences": "email:bool push:bool sms:bool newSubscriber:bool newMessage:bool newTip:bool"
                               " marketing:bool",
    "PushSubscription": "id:uuid endpoint:url platform:enum(web|ios|android) createdAt:datetime",
    "AdminMetrics": "users:int(0,1000000000) creators:int(0,100000000) activeSubscriptions:int(0,1000000000)"
                    " revenue30d:money currency:enum(usd|eur|gbp) generatedAt:datetime",
    "AuditEntry": "id:uuid actorId:uuid action:str(1,100) targetType:str(1,50) targetId:uuid createdAt:datetime",
    "Announcement": "id:uuid title:str(1,200) body:str(1,5000) audience:enum(all|creators|fans) publishAt:datetime",
    "FeatureFlag": "id:uuid key:str(1,64) enabled:bool rolloutPercent:int(0,100) updatedAt:datetime",
    # request bodies
    "RegisterRequest": "email:email password:str(12,128) username:str(3,30) displayName?:str(1,60)"
                       " acceptTerms:enum(true)",
    "LoginRequest": "email:email password:str(1,128) totpCode?:str(6,6)",
    "RefreshRequest": "refreshToken:str(20,2000)",
    "EmailRequest": "email:email",
    "PasswordReset": "token:str(20,500) password:str(12,128)",
    "TokenRequest": "token:str(20,500)",
    "CodeRequest": "code:str(6,6)",
    "UserUpdate": "displayName?:str(1,60) bio?:str(0,500) username?:str(3,30)",
    "AvatarUpdate": "mediaId:uuid",
    "UserRef": "userId:uuid",
    "ReportRequest": "reason:enum(spam|abuse|copyright|underage|other) details?:str(0,2000)",
    "CreatorCreate": "handle:str(3,30) displayName:str(1,60) category:enum(art|music|fitness|gaming|education"
                     "|lifestyle|other) bio?:str(0,1000)",
    "CreatorUpdate": "displayName?:str(1,60) category?:enum(art|music|fitness|gaming|education|lifestyle|other)"
                     " bio?:str(0,1000)",
    "TierCreate": "name:str(1,60) price:money currency:enum(usd|eur|gbp) interval:enum(month|quarter|year)"
                  " benefits?:[str(1,200)]",
    "TierUpdate": "name?:str(1,60) price?:money active?:bool",
    "VerificationRequest": "documentType:enum(passport|id_card|driver_license) documentMediaId:uuid"
                           " selfieMediaId:uuid",
    "SubscriptionCreate": "creatorId:uuid tierId:uuid paymentMethodId:uuid promoCode?:str(3,20)",
    "SubscriptionUpdate": "tierId?:uuid autoRenew?:bool",
    "SubscriptionPreviewRequest": "creatorId:uuid tierId:uuid promoCode?:str(3,20)",
    "PromotionCreate": "code:str(3,20) percentOff:int(1,100) expiresAt:datetime",
    "PostCreate": "text:str(0,5000) visibility:enum(public|subscribers|paid) price?:money mediaIds?:[uuid]",
    "PostUpdate": "text?:str(0,5000) visibility?:enum(public|subscribers|paid) price?:money",
    "CommentCreate": "text:str(1,2000)",
    "UnlockRequest": "paymentMethodId:uuid",
    "BookmarkCreate": "postId:uuid",
    "UploadCreate": "filename:str(1,255) contentType:enum(image/jpeg|image/png|image/webp|video/mp4|video/quicktime"
                    "|audio/mpeg) size:int(1,10737418240)",
    "PartRequest": "partNumber:int(1,10000)",
    "UploadComplete": "parts:[UploadedPart]",
    "UploadedPart": "partNumber:int(1,10000) etag:str(1,100)",
    "MediaUpdate": "title?:str(0,200)",
    "ThumbnailRequest": "atSeconds:int(0,86400)",
    "FolderCreate": "name:str(1,100)",
    "ConversationCreate": "participantId:uuid",
    "MessageCreate": "text:str(1,5000) mediaIds?:[uuid] price?:money",
    "MassMessageCreate": "text:str(1,5000) tierIds:[uuid]",
    "PaymentMethodCreate": "stripePaymentMethodId:str(3,255) makeDefault?:bool",
    "PaymentIntentCreate": "amount:int(50,99999999) currency:enum(usd|eur|gbp) purpose:enum(subscription|tip|unlock"
                           "|top_up) creatorId?:uuid",
    "TipCreate": "creatorId:uuid amount:int(100,1000000) currency:enum(usd|eur|gbp) message?:str(0,500)",
    "RefundRequest": "reason:enum(duplicate|fraudulent|requested_by_customer) details?:str(0,2000)",
    "TopUpCreate": "amount:int(500,100000) paymentMethodId:uuid",
    "PayoutCreate": "amount:int(1000,100000000) currency:enum(usd|eur|gbp)",
    "PayoutAccountCreate": "type:enum(bank_account|debit_card) country:str(2,2)",
    "TaxFormCreate": "type:enum(w9|w8ben|w8bene) year:int(2000,2100) documentMediaId:uuid",
    "StreamCreate": "title:str(1,140) visibility:enum(public|subscribers|paid) price?:money scheduledFor?:datetime",
    "StreamUpdate": "title?:str(1,140) visibility?:enum(public|subscribers|paid) price?:money",
    "ChatCreate": "text:str(1,500)",
    "StreamTipCreate": "amount:int(100,1000000) currency:enum(usd|eur|gbp) message?:str(0,500)",
    "PushSubscriptionCreate": "endpoint:url platform:enum(web|ios|android) p256dh?:str(1,200) auth?:str(1,100)",
    "SuspendRequest": "reason:str(1,500) days:int(1,3650)",
    "ResolveRequest": "action:enum(dismiss|remove_content|suspend_user|ban_user) note?:str(0,2000)",
    "RejectRequest": "reason:str(1,500)",
    "AnnouncementCreate": "title:str(1,200) body:str(1,5000) audience:enum(all|creators|fans) publishAt?:datetime",
    "FeatureFlagUpdate": "enabled?:bool rolloutPercent?:int(0,100)",
}

# --- operations ---------------------------------------------------------------------------------------------------
# (group, method, path, operationId, request body schema or "", success status, response: schema, "list:Schema"
#  or "" for no content, auth, extra query parameters "name:type ...")
Row = tuple[str, str, str, str, str, int, str, bool, str]
PAGE = "limit?:int(1,100) cursor?:str(1,200)"


def crud(group: str, base: str, name: str, param: str, schema: str, create: str, update: str,
         ops: str = "list create get update delete", auth_reads: bool = True, query: str = "") -> list[Row]:
    """The usual five operations of a collection (those named in ``ops``)."""
    item = "%s/{%s}" % (base, param)
    rows: dict[str, Row] = {
        "list": (group, "get", base, "list" + name + "s", "", 200, "list:" + schema, auth_reads, query),
        "create": (group, "post", base, "create" + name, create, 201, schema, True, ""),
        "get": (group, "get", item, "get" + name, "", 200, schema, auth_reads, ""),
        "update": (group, "patch", item, "update" + name, update, 200, schema, True, ""),
        "delete": (group, "delete", item, "delete" + name, "", 204, "", True, ""),
    }
    return [rows[o] for o in ops.split()]


def operations() -> list[Row]:
    a = API
    rows: list[Row] = [
        # auth
        ("auth", "post", a + "/auth/register", "register", "RegisterRequest", 201, "AuthSession", False, ""),
        ("auth", "post", a + "/auth/login", "login", "LoginRequest", 200, "AuthSession", False, ""),
        ("auth", "post", a + "/auth/logout", "logout", "", 204, "", True, ""),
        ("auth", "post", a + "/auth/refresh", "refreshToken", "RefreshRequest", 200, "AuthSession", False, ""),
        ("auth", "post", a + "/auth/password/forgot", "forgotPassword", "EmailRequest", 202, "Accepted", False, ""),
        ("auth", "post", a + "/auth/password/reset", "resetPassword", "PasswordReset", 204, "", False, ""),
        ("auth", "post", a + "/auth/email/verify", "verifyEmail", "TokenRequest", 200, "User", False, ""),
        ("auth", "post", a + "/auth/email/resend", "resendVerification", "", 202, "Accepted", True, ""),
        ("auth", "get", a + "/auth/sessions", "listSessions", "", 200, "list:Session", True, PAGE),
        ("auth", "delete", a + "/auth/sessions/{sessionId}", "revokeSession", "", 204, "", True, ""),
        ("auth", "post", a + "/auth/2fa/enable", "enableTwoFactor", "", 200, "TwoFactorSetup", True, ""),
        ("auth", "post", a + "/auth/2fa/verify", "verifyTwoFactor", "CodeRequest", 200, "TwoFactorStatus", True, ""),
        ("auth", "post", a + "/auth/2fa/disable", "disableTwoFactor", "CodeRequest", 204, "", True, ""),
        ("auth", "get", a + "/auth/oauth/providers", "listOAuthProviders", "", 200, "list:OAuthProvider", False, ""),
        # users
        ("users", "get", a + "/me", "getMe", "", 200, "User", True, ""),
        ("users", "patch", a + "/me", "updateMe", "UserUpdate", 200, "User", True, ""),
        ("users", "delete", a + "/me", "deleteMe", "", 204, "", True, ""),
        ("users", "get", a + "/me/settings", "getSettings", "", 200, "UserSettings", True, ""),
        ("users", "put", a + "/me/settings", "putSettings", "UserSettings", 200, "UserSettings", True, ""),
        ("users", "put", a + "/me/avatar", "setAvatar", "AvatarUpdate", 200, "User", True, ""),
        ("users", "get", a + "/me/blocks", "listBlocks", "", 200, "list:BlockedUser", True, PAGE),
        ("users", "post", a + "/me/blocks", "blockUser", "UserRef", 201, "BlockedUser", True, ""),
        ("users", "delete", a + "/me/blocks/{userId}", "unblockUser", "", 204, "", True, ""),
        ("users", "get", a + "/users", "listUsers", "", 200, "list:User", True, PAGE + " q?:str(1,100)"),
        ("users", "get", a + "/users/{userId}", "getUser", "", 200, "User", True, ""),
        ("users", "get", a + "/users/{userId}/followers", "listFollowers", "", 200, "list:User", True, PAGE),
        ("users", "get", a + "/users/{userId}/following", "listFollowing", "", 200, "list:User", True, PAGE),
        ("users", "post", a + "/users/{userId}/follow", "followUser", "", 200, "Follow", True, ""),
        ("users", "delete", a + "/users/{userId}/follow", "unfollowUser", "", 204, "", True, ""),
        ("users", "post", a + "/users/{userId}/report", "reportUser", "ReportRequest", 202, "Report", True, ""),
        # creators
        *crud("creators", a + "/creators", "Creator", "creatorId", "Creator", "CreatorCreate", "CreatorUpdate",
              "list create get update", auth_reads=False,
              query=PAGE + " category?:enum(art|music|fitness|gaming|education|lifestyle|other)"),
        ("creators", "get", a + "/search/creators", "searchCreators", "", 200, "list:Creator", False,
         "q:str(1,100) " + PAGE),
        ("creators", "get", a + "/creators/{creatorId}/posts", "listCreatorPosts", "", 200, "list:Post", False, PAGE),
        *crud("creators", a + "/creators/{creatorId}/tiers", "Tier", "tierId", "Tier", "TierCreate", "TierUpdate",
              "list create update delete", auth_reads=False),
        ("creators", "get", a + "/creators/{creatorId}/stats", "getCreatorStats", "", 200, "CreatorStats", True, ""),
        ("creators", "get", a + "/creators/{creatorId}/subscribers", "listSubscribers", "", 200, "list:Subscriber",
         True, PAGE),
        ("creators", "get", a + "/creators/{creatorId}/earnings", "getEarnings", "", 200, "Earnings", True,
         "from?:date to?:date"),
        ("creators", "post", a + "/creators/{creatorId}/verification", "requestVerification", "VerificationRequest",
         202, "Verification", True, ""),
        ("creators", "get", a + "/creators/{creatorId}/verification", "getVerification", "", 200, "Verification",
         True, ""),
        # subscriptions
        *crud("subscriptions", a + "/subscriptions", "Subscription", "subscriptionId", "Subscription",
              "SubscriptionCreate", "SubscriptionUpdate", "list create get update",
              query=PAGE + " status?:enum(active|past_due|canceled|incomplete)"),
        ("subscriptions", "post", a + "/subscriptions/{subscriptionId}/cancel", "cancelSubscription", "", 200,
         "Subscription", True, ""),
        ("subscriptions", "post", a + "/subscriptions/{subscriptionId}/resume", "resumeSubscription", "", 200,
         "Subscription", True, ""),
        ("subscriptions", "get", a + "/subscriptions/{subscriptionId}/invoices", "listInvoices", "", 200,
         "list:Invoice", True, PAGE),
        ("subscriptions", "post", a + "/subscription-previews", "previewSubscription", "SubscriptionPreviewRequest",
         200, "SubscriptionPreview", True, ""),
        *crud("subscriptions", a + "/promotions", "Promotion", "promotionId", "Promotion", "PromotionCreate", "",
              "list create delete"),
        # posts
        *crud("posts", a + "/posts", "Post", "postId", "Post", "PostCreate", "PostUpdate", query=PAGE),
        ("posts", "get", a + "/feed", "getFeed", "", 200, "list:Post", True, PAGE),
        ("posts", "post", a + "/posts/{postId}/like", "likePost", "", 200, "Like", True, ""),
        ("posts", "delete", a + "/posts/{postId}/like", "unlikePost", "", 204, "", True, ""),
        *crud("posts", a + "/posts/{postId}/comments", "Comment", "commentId", "Comment", "CommentCreate",
              "CommentCreate", "list create update delete", query=PAGE),
        ("posts", "post", a + "/posts/{postId}/unlock", "unlockPost", "UnlockRequest", 200, "Purchase", True, ""),
        ("posts", "post", a + "/posts/{postId}/pin", "pinPost", "", 200, "Post", True, ""),
        ("posts", "post", a + "/posts/{postId}/report", "reportPost", "ReportRequest", 202, "Report", True, ""),
        ("posts", "get", a + "/bookmarks", "listBookmarks", "", 200, "list:Post", True, PAGE),
        ("posts", "post", a + "/bookmarks", "createBookmark", "BookmarkCreate", 201, "Bookmark", True, ""),
        ("posts", "delete", a + "/bookmarks/{postId}", "deleteBookmark", "", 204, "", True, ""),
        # media uploads
        ("media", "post", a + "/media/uploads", "createUpload", "UploadCreate", 201, "UploadTicket", True, ""),
        ("media", "get", a + "/media/uploads/{uploadId}", "getUpload", "", 200, "UploadTicket", True, ""),
        ("media", "post", a + "/media/uploads/{uploadId}/parts", "createUploadPart", "PartRequest", 201,
         "UploadPart", True, ""),
        ("media", "post", a + "/media/uploads/{uploadId}/complete", "completeUpload", "UploadComplete", 200,
         "Media", True, ""),
        ("media", "delete", a + "/media/uploads/{uploadId}", "abortUpload", "", 204, "", True, ""),
        *crud("media", a + "/media/items", "Media", "mediaId", "Media", "", "MediaUpdate",
              "list get update delete", query=PAGE + " type?:enum(image|video|audio)"),
        ("media", "get", a + "/media/items/{mediaId}/playback", "getPlayback", "", 200, "PlaybackInfo", True, ""),
        ("media", "post", a + "/media/items/{mediaId}/thumbnail", "makeThumbnail", "ThumbnailRequest", 202,
         "Accepted", True, ""),
        *crud("media", a + "/vault/folders", "VaultFolder", "folderId", "VaultFolder", "FolderCreate", "",
              "list create"),
        # messages
        *crud("messages", a + "/conversations", "Conversation", "conversationId", "Conversation",
              "ConversationCreate", "", "list create get delete", query=PAGE),
        *crud("messages", a + "/conversations/{conversationId}/messages", "Message", "messageId", "Message",
              "MessageCreate", "", "list create delete", query=PAGE),
        ("messages", "post", a + "/conversations/{conversationId}/read", "markConversationRead", "", 204, "", True,
         ""),
        ("messages", "post", a + "/conversations/{conversationId}/messages/{messageId}/unlock", "unlockMessage",
         "UnlockRequest", 200, "Purchase", True, ""),
        *crud("messages", a + "/mass-messages", "MassMessage", "massMessageId", "MassMessage", "MassMessageCreate",
              "", "list create", query=PAGE),
        # payments
        *crud("payments", a + "/payment-methods", "PaymentMethod", "paymentMethodId", "PaymentMethod",
              "PaymentMethodCreate", "", "list create delete"),
        ("payments", "post", a + "/payment-methods/{paymentMethodId}/default", "setDefaultPaymentMethod", "", 200,
         "PaymentMethod", True, ""),
        ("payments", "post", a + "/payment-intents", "createPaymentIntent", "PaymentIntentCreate", 201,
         "PaymentIntentRef", True, ""),
        ("payments", "get", a + "/payment-intents/{intentId}", "getPaymentIntent", "", 200, "PaymentIntentRef", True,
         ""),
        *crud("payments", a + "/transactions", "Transaction", "transactionId", "Transaction", "", "", "list get",
              query=PAGE + " type?:enum(subscription|tip|unlock|top_up|refund)"),
        ("payments", "post", a + "/transactions/{transactionId}/refund-requests", "requestRefund", "RefundRequest",
         202, "Accepted", True, ""),
        *crud("payments", a + "/tips", "Tip", "tipId", "Tip", "TipCreate", "", "list create", query=PAGE),
        ("payments", "get", a + "/wallet", "getWallet", "", 200, "Wallet", True, ""),
        ("payments", "post", a + "/wallet/top-ups", "topUpWallet", "TopUpCreate", 201, "TopUp", True, ""),
        # payouts
        *crud("payouts", a + "/payouts", "Payout", "payoutId", "Payout", "PayoutCreate", "", "list create get",
              query=PAGE + " status?:enum(pending|in_transit|paid|failed|canceled)"),
        ("payouts", "post", a + "/payouts/{payoutId}/cancel", "cancelPayout", "", 200, "Payout", True, ""),
        *crud("payouts", a + "/payout-accounts", "PayoutAccount", "accountId", "PayoutAccount",
              "PayoutAccountCreate", "", "list create delete"),
        ("payouts", "get", a + "/balance", "getBalance", "", 200, "Balance", True, ""),
        ("payouts", "get", a + "/payout-schedule", "getPayoutSchedule", "", 200, "PayoutSchedule", True, ""),
        ("payouts", "put", a + "/payout-schedule", "putPayoutSchedule", "PayoutSchedule", 200, "PayoutSchedule",
         True, ""),
        *crud("payouts", a + "/tax-forms", "TaxForm", "taxFormId", "TaxForm", "TaxFormCreate", "", "list create"),
        # live streams
        *crud("live", a + "/live-streams", "LiveStream", "streamId", "LiveStream", "StreamCreate", "StreamUpdate",
              auth_reads=False, query=PAGE + " status?:enum(scheduled|live|ended)"),
        ("live", "post", a + "/live-streams/{streamId}/start", "startLiveStream", "", 200, "LiveStream", True, ""),
        ("live", "post", a + "/live-streams/{streamId}/stop", "stopLiveStream", "", 200, "LiveStream", True, ""),
        ("live", "get", a + "/live-streams/{streamId}/viewers", "getViewerStats", "", 200, "ViewerStats", False, ""),
        *crud("live", a + "/live-streams/{streamId}/chat", "ChatMessage", "chatMessageId", "ChatMessage",
              "ChatCreate", "", "list create", query=PAGE),
        ("live", "post", a + "/live-streams/{streamId}/tips", "tipLiveStream", "StreamTipCreate", 201, "Tip", True,
         ""),
        ("live", "get", a + "/live-streams/{streamId}/recording", "getRecording", "", 200, "Recording", True, ""),
        ("live", "post", a + "/live-streams/{streamId}/key/rotate", "rotateStreamKey", "", 200, "StreamKey", True,
         ""),
        # notifications
        *crud("notifications", a + "/notifications", "Notification", "notificationId", "Notification", "", "",
              "list get delete", query=PAGE + " unread?:bool"),
        ("notifications", "post", a + "/notifications/{notificationId}/read", "markNotificationRead", "", 204, "",
         True, ""),
        ("notifications", "post", a + "/me/notifications/read-all", "markAllNotificationsRead", "", 204, "", True,
         ""),
        ("notifications", "get", a + "/me/notifications/unread-count", "getUnreadCount", "", 200, "UnreadCount",
         True, ""),
        ("notifications", "get", a + "/notification-preferences", "getNotificationPreferences", "", 200,
         "NotificationPreferences", True, ""),
        ("notifications", "put", a + "/notification-preferences", "putNotificationPreferences",
         "NotificationPreferences", 200, "NotificationPreferences", True, ""),
        *crud("notifications", a + "/push-subscriptions", "PushSubscription", "pushSubscriptionId",
              "PushSubscription", "PushSubscriptionCreate", "", "list create delete"),
        # admin
        *crud("admin", a + "/admin/users", "AdminUser", "userId", "User", "", "", "list get delete",
              query=PAGE + " status?:enum(active|suspended|deleted)"),
        ("admin", "post", a + "/admin/users/{userId}/suspend", "suspendUser", "SuspendRequest", 200, "User", True, ""),
        ("admin", "post", a + "/admin/users/{userId}/unsuspend", "unsuspendUser", "", 200, "User", True, ""),
        *crud("admin", a + "/admin/reports", "AdminReport", "reportId", "Report", "", "", "list get",
              query=PAGE + " status?:enum(open|reviewing|resolved)"),
        ("admin", "post", a + "/admin/reports/{reportId}/resolve", "resolveReport", "ResolveRequest", 200, "Report",
         True, ""),
        *crud("admin", a + "/admin/verifications", "AdminVerification", "verificationId", "Verification", "", "",
              "list", query=PAGE),
        ("admin", "post", a + "/admin/verifications/{verificationId}/approve", "approveVerification", "", 200,
         "Verification", True, ""),
        ("admin", "post", a + "/admin/verifications/{verificationId}/reject", "rejectVerification", "RejectRequest",
         200, "Verification", True, ""),
        *crud("admin", a + "/admin/payouts", "AdminPayout", "payoutId", "Payout", "", "", "list", query=PAGE),
        ("admin", "post", a + "/admin/payouts/{payoutId}/approve", "approvePayout", "", 200, "Payout", True, ""),
        ("admin", "get", a + "/admin/metrics", "getAdminMetrics", "", 200, "AdminMetrics", True, ""),
        ("admin", "get", a + "/admin/audit-log", "listAuditLog", "", 200, "list:AuditEntry", True, PAGE),
        *crud("admin", a + "/admin/announcements", "Announcement", "announcementId", "Announcement",
              "AnnouncementCreate", "", "list create"),
        *crud("admin", a + "/admin/feature-flags", "FeatureFlag", "flagId", "FeatureFlag", "", "FeatureFlagUpdate",
              "list update"),
    ]
    return rows


TAGS = {"auth": "Auth", "users": "Users", "creators": "Creators", "subscriptions": "Subscriptions", "posts": "Posts",
        "media": "Media", "messages": "Messages", "payments": "Payments", "payouts": "Payouts", "live": "Live streams",
        "notifications": "Notifications", "admin": "Admin"}


# --- the field language -------------------------------------------------------------------------------------------
def field_schema(kind: str) -> dict[str, Any]:
    """One field's JSON schema from its type word."""
    if kind.startswith("[") and kind.endswith("]"):
        return {"type": "array", "items": field_schema(kind[1:-1]), "maxItems": 20}
    m = re.fullmatch(r"(\w+)(?:\((.*)\))?", kind)
    if not m:
        raise ValueError("field type %r is not understood" % kind)
    word, arg = m.group(1), m.group(2)
    simple = {"uuid": {"type": "string", "format": "uuid"}, "email": {"type": "string", "format": "email"},
              "url": {"type": "string", "format": "uri"}, "datetime": {"type": "string", "format": "date-time"},
              "date": {"type": "string", "format": "date"}, "bool": {"type": "boolean"},
              "money": {"type": "integer", "minimum": 0, "maximum": 100000000}}
    if word in simple:
        return dict(simple[word])
    if word == "str":
        out: dict[str, Any] = {"type": "string"}
        if arg:
            lo, hi = (int(x) for x in arg.split(","))
            out.update(minLength=lo, maxLength=hi)
        return out
    if word == "int":
        out = {"type": "integer"}
        if arg:
            lo, hi = (int(x) for x in arg.split(","))
            out.update(minimum=lo, maximum=hi)
        return out
    if word == "enum":
        values: list[Any] = arg.split("|")
        if values == ["true"]:
            return {"type": "boolean", "enum": [True]}
        return {"type": "string", "enum": values}
    if word in SCHEMAS:
        return {"$ref": "#/components/schemas/" + word}
    raise ValueError("field type %r is not understood" % kind)


def parse_fields(spec: str) -> tuple[dict[str, Any], list[str]]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for item in spec.split():
        name, _sep, kind = item.partition(":")
        optional = name.endswith("?")
        name = name.rstrip("?")
        props[name] = field_schema(kind)
        if not optional:
            required.append(name)
    return props, required


def object_schema(spec: str) -> dict[str, Any]:
    props, required = parse_fields(spec)
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def param_schema(name: str) -> dict[str, Any]:
    return {"type": "string", "format": "uuid"}


# --- the document ---------------------------------------------------------------------------------------------------
def ref(name: str) -> dict[str, str]:
    return {"$ref": "#/components/schemas/" + name}


def error_response(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": ref("Error")}}}


def list_schema(item: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": ["data", "hasMore"],
            "properties": {"data": {"type": "array", "items": ref(item), "maxItems": 100},
                           "hasMore": {"type": "boolean"}, "nextCursor": {"type": "string", "minLength": 1}}}


def build(domain: str) -> dict[str, Any]:
    """The whole OpenAPI 3.0.3 document; ``servers`` names the public API origin (https://api.<domain>)."""
    schemas = {name: object_schema(spec) for name, spec in SCHEMAS.items()}
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for group, method, path, op_id, body, status, response, auth, query in operations():
        if op_id in seen:
            raise ValueError("operationId %s twice" % op_id)
        seen.add(op_id)
        params = [{"name": n, "in": "path", "required": True, "schema": param_schema(n),
                   "description": "the %s (a UUID)" % n} for n in re.findall(r"{(\w+)}", path)]
        if query:
            props, required = parse_fields(query)
            params += [{"name": n, "in": "query", "required": n in required, "schema": s} for n, s in props.items()]
        op: dict[str, Any] = {"operationId": op_id, "tags": [TAGS[group]], "x-launch-group": group,
                              "summary": re.sub(r"(?<!^)([A-Z])", r" \1", op_id).lower(), "responses": {}}
        if params:
            op["parameters"] = params
        if body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
        if response.startswith("list:"):
            content = {"application/json": {"schema": list_schema(response[5:])}}
        elif response:
            content = {"application/json": {"schema": ref(response)}}
        else:
            content = {}
        success: dict[str, Any] = {"description": "success"}
        if content:
            success["content"] = content
        op["responses"][str(status)] = success
        if params or body:
            op["responses"]["400"] = error_response("the input is not valid (the message says which part)")
        if auth:
            op["security"] = [{"bearerAuth": []}]
            op["responses"]["401"] = error_response("no or an unknown bearer token")
        if "{" in path:
            op["responses"]["404"] = error_response("no such resource")
        paths.setdefault(path, {})[method] = op
    check_routes(list(paths))
    return {
        "openapi": "3.0.3",
        "info": {"title": "DirectFanz API (sandbox stand-in)", "version": "1.0.0",
                 "description": "The creator platform's API as the sandbox serves it; every operation carries "
                                "x-launch-group, the endpoint group of the latency percentiles."},
        "servers": [{"url": "https://api.%s" % domain}],
        "tags": [{"name": t} for t in TAGS.values()],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [],
    }


def check_routes(paths: list[str]) -> None:
    """A literal segment where another path has a parameter would make the router send one operation's requests to
    another's handler (a 400 instead of a 405 for an undocumented method): refuse such a table."""
    split = [p.split("/") for p in paths]
    for a in split:
        for b in split:
            if len(a) != len(b) or a == b:
                continue
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                if x != y:
                    if (x.startswith("{") != y.startswith("{")) and a[:i] == b[:i]:
                        raise ValueError("paths %s and %s overlap (literal beside a parameter)"
                                         % ("/".join(a), "/".join(b)))
                    break


def operation_count(doc: dict[str, Any]) -> int:
    return sum(len(v) for v in doc["paths"].values())


# --- valid answers ------------------------------------------------------------------------------------------------
def example(schema: dict[str, Any], doc: dict[str, Any], domain: str, ids: dict[str, str], name: str = "",
            depth: int = 0) -> Any:
    """A deterministic instance of ``schema`` (every required property, formats and bounds respected); ``ids`` maps
    property names to values taken from the request (path parameters), so ``GET /posts/{postId}`` answers that id."""
    if "$ref" in schema:
        return example(doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], doc, domain, ids, name, depth)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        out = {}
        for prop, sub in schema.get("properties", {}).items():
            if prop in schema.get("required", []) or depth == 0:
                out[prop] = example(sub, doc, domain, ids, prop, depth + 1)
        return out
    if kind == "array":
        return [example(schema["items"], doc, domain, {}, name, depth + 1)]
    if kind == "boolean":
        return False
    if kind == "integer":
        lo = schema.get("minimum", 0)
        hi = schema.get("maximum", lo + 100)
        return max(lo, min(hi, 1200)) if name in ("price", "amount", "total", "gross", "net") else lo
    fmt = schema.get("format")
    if fmt == "uuid":
        return ids.get(name) or str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s" % (domain, name)))
    if fmt == "email":
        return "fan@%s" % domain
    if fmt == "uri":
        return "https://%s/%s" % (domain, name.lower() or "x")
    if fmt == "date-time":
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if fmt == "date":
        return dt.date.today().isoformat()
    lo, hi = schema.get("minLength", 1), schema.get("maxLength", 64)
    base = {"last4": "4242", "country": "US", "currency": "usd"}.get(name) or ("%s-sample" % (name or "text"))
    text = (base * (1 + lo // max(1, len(base))))[:max(lo, min(hi, len(base)))]
    return text
