//! Rule packs: rules for tools beyond git and the shell (Kubernetes,
//! Terraform, Docker, cloud CLIs, databases, secrets managers, backups),
//! written as data (`src/learn/packs/<name>.toml`, the `[[rules]]` format of
//! `[[learn.rules]]`, see [`super::declared`]) and built into the binary.
//! They are off by default: `learn.packs` in the shared config turns them
//! on by name, or `all`.

use serde::Deserialize;

use super::policy::RuleEntry;
use super::BadPack;

type Result<T, E = BadPack> = std::result::Result<T, E>;

/// Every pack: name and its data.
pub const PACKS: &[(&str, &str)] = &[
    ("kubernetes", include_str!("packs/kubernetes.toml")),
    ("terraform", include_str!("packs/terraform.toml")),
    ("docker", include_str!("packs/docker.toml")),
    ("cloud", include_str!("packs/cloud.toml")),
    ("databases", include_str!("packs/databases.toml")),
    ("secrets", include_str!("packs/secrets.toml")),
    ("backups", include_str!("packs/backups.toml")),
];

/// `learn.packs = ["all"]` turns every pack on, including ones added later.
pub const ALL: &str = "all";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub description: String,
    pub rules: Vec<RuleEntry>,
}

/// A pack's data, read. The data is built in and checked by the tests, so
/// a pack that does not parse is a bug in this build, reported as such.
pub fn pack(name: &str) -> Result<Pack> {
    let (_, text) = PACKS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| BadPack::Unknown(name.to_owned()))?;
    toml::from_str(text).map_err(|e| BadPack::Broken {
        name: name.to_owned(),
        why: e.message().to_owned(),
    })
}

/// The packs `names` turn on, in the order of [`PACKS`], with their rules.
pub fn enabled(names: &[String]) -> Result<Vec<(&'static str, Vec<RuleEntry>)>> {
    if let Some(bad) = names.iter().find(|n| *n != ALL && !PACKS.iter().any(|(p, _)| p == n)) {
        return Err(BadPack::Unknown(bad.clone()));
    }
    let all = names.iter().any(|n| n == ALL);
    PACKS
        .iter()
        .filter(|(name, _)| all || names.iter().any(|n| n == name))
        .map(|(name, _)| Ok((*name, pack(name)?.rules)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::judge::{judge_line, Context, Level};
    use crate::learn::rules::{Origin, RuleSet};
    use crate::learn::Policy;

    fn with(packs: &[&str]) -> RuleSet {
        let policy = Policy {
            packs: packs.iter().map(|p| p.to_string()).collect(),
            ..Policy::default()
        };
        RuleSet::from_policy(&policy).unwrap()
    }

    /// (pack, line, level with the pack on, the rule that must be among the reasons).
    const CASES: &[(&str, &str, Level, &str)] = &[
        (
            "kubernetes",
            "kubectl delete namespace prod",
            Level::High,
            "k8s.delete-namespace",
        ),
        (
            "kubernetes",
            "kubectl -n prod delete ns staging",
            Level::High,
            "k8s.delete-namespace",
        ),
        (
            "kubernetes",
            "oc delete namespace/prod",
            Level::High,
            "k8s.delete-namespace",
        ),
        (
            "kubernetes",
            "kubectl delete pods --all -n prod",
            Level::High,
            "k8s.delete-all",
        ),
        (
            "kubernetes",
            "kubectl delete deploy -A --all",
            Level::High,
            "k8s.delete-all",
        ),
        (
            "kubernetes",
            "kubectl delete crd widgets.example.com",
            Level::High,
            "k8s.delete-cluster-wide",
        ),
        ("kubernetes", "kubectl delete pod web-1", Level::Medium, "k8s.delete"),
        (
            "kubernetes",
            "kubectl drain node-3 --ignore-daemonsets",
            Level::Medium,
            "k8s.drain",
        ),
        (
            "kubernetes",
            "kubectl scale deploy/web --replicas=0",
            Level::Medium,
            "k8s.scale-zero",
        ),
        ("kubernetes", "helm uninstall web", Level::Medium, "k8s.helm-uninstall"),
        ("terraform", "terraform destroy", Level::High, "tf.destroy"),
        ("terraform", "tofu destroy -auto-approve", Level::High, "tf.destroy"),
        (
            "terraform",
            "terraform apply -destroy -auto-approve",
            Level::High,
            "tf.apply-destroy",
        ),
        (
            "terraform",
            "terraform apply -auto-approve",
            Level::Medium,
            "tf.apply-auto-approve",
        ),
        (
            "terraform",
            "terraform state rm aws_instance.web",
            Level::Medium,
            "tf.state-change",
        ),
        (
            "terraform",
            "terraform workspace delete old",
            Level::Medium,
            "tf.workspace-delete",
        ),
        (
            "docker",
            "docker system prune -af --volumes",
            Level::High,
            "docker.prune-volumes",
        ),
        ("docker", "docker volume rm pgdata", Level::High, "docker.volume-delete"),
        ("docker", "podman volume prune -f", Level::High, "docker.volume-delete"),
        (
            "docker",
            "docker compose down -v",
            Level::High,
            "docker.compose-down-volumes",
        ),
        (
            "docker",
            "docker-compose down --volumes",
            Level::High,
            "docker.compose-down-volumes",
        ),
        ("docker", "docker system prune -a", Level::Medium, "docker.system-prune"),
        ("docker", "docker image prune -a", Level::Medium, "docker.prune"),
        (
            "cloud",
            "aws s3 rb s3://bucket --force",
            Level::High,
            "cloud.aws-bucket-delete",
        ),
        (
            "cloud",
            "aws s3 rm s3://bucket/ --recursive",
            Level::High,
            "cloud.aws-s3-recursive-delete",
        ),
        (
            "cloud",
            "aws ec2 terminate-instances --instance-ids i-1",
            Level::High,
            "cloud.aws-destroy",
        ),
        (
            "cloud",
            "aws rds delete-db-instance --db-instance-identifier db",
            Level::High,
            "cloud.aws-destroy",
        ),
        (
            "cloud",
            "aws iam delete-user --user-name x",
            Level::Medium,
            "cloud.aws-delete",
        ),
        (
            "cloud",
            "gcloud projects delete my-project",
            Level::High,
            "cloud.gcloud-destroy",
        ),
        (
            "cloud",
            "gcloud sql instances delete db1",
            Level::High,
            "cloud.gcloud-destroy",
        ),
        (
            "cloud",
            "gcloud compute instances delete vm1 --zone z",
            Level::High,
            "cloud.gcloud-destroy",
        ),
        (
            "cloud",
            "gsutil -m rm -r gs://bucket",
            Level::High,
            "cloud.gcloud-storage-recursive-delete",
        ),
        (
            "cloud",
            "gsutil rb gs://bucket",
            Level::High,
            "cloud.gsutil-bucket-delete",
        ),
        (
            "cloud",
            "gcloud pubsub topics delete t",
            Level::Medium,
            "cloud.gcloud-delete",
        ),
        (
            "cloud",
            "az group delete --name rg --yes",
            Level::High,
            "cloud.az-destroy",
        ),
        ("cloud", "az sql db delete -n db -g rg", Level::High, "cloud.az-destroy"),
        ("cloud", "az network vnet delete -n v", Level::Medium, "cloud.az-delete"),
        ("databases", "psql -c 'DROP TABLE users'", Level::High, "db.drop"),
        (
            "databases",
            "psql -d app --command='drop database app'",
            Level::High,
            "db.drop",
        ),
        ("databases", "mysql -e 'TRUNCATE TABLE orders'", Level::High, "db.drop"),
        ("databases", "sqlite3 app.db 'DROP TABLE t;'", Level::High, "db.drop"),
        (
            "databases",
            "psql -c 'DELETE FROM users;'",
            Level::Medium,
            "db.delete-all",
        ),
        ("databases", "dropdb app", Level::High, "db.dropdb"),
        (
            "databases",
            "mysqladmin -u root drop app",
            Level::High,
            "db.mysqladmin-drop",
        ),
        (
            "databases",
            "mongosh app --eval 'db.dropDatabase()'",
            Level::High,
            "db.mongo-drop",
        ),
        ("databases", "redis-cli FLUSHALL", Level::High, "db.redis-flush"),
        ("databases", "redis-cli -n 2 flushdb", Level::High, "db.redis-flush"),
        (
            "secrets",
            "vault kv destroy -versions=1 secret/app",
            Level::High,
            "vault.destroy",
        ),
        (
            "secrets",
            "vault kv metadata delete secret/app",
            Level::High,
            "vault.destroy",
        ),
        ("secrets", "vault secrets disable kv", Level::High, "vault.disable"),
        ("secrets", "vault auth disable github", Level::High, "vault.disable"),
        ("secrets", "vault kv delete secret/app", Level::Medium, "vault.delete"),
        (
            "secrets",
            "vault lease revoke -prefix aws/",
            Level::Medium,
            "vault.revoke-prefix",
        ),
        (
            "backups",
            "restic forget --keep-last 1 --prune",
            Level::High,
            "backup.restic-forget-prune",
        ),
        (
            "backups",
            "restic forget --keep-daily 7",
            Level::Medium,
            "backup.restic-forget",
        ),
        (
            "backups",
            "borg delete /backups::monday",
            Level::High,
            "backup.borg-delete",
        ),
        (
            "backups",
            "borg prune --keep-daily 7 /backups",
            Level::Medium,
            "backup.borg-prune",
        ),
        (
            "backups",
            "kopia snapshot delete k1 --delete",
            Level::High,
            "backup.kopia-delete",
        ),
        (
            "backups",
            "rclone purge remote:backups",
            Level::High,
            "backup.rclone-purge",
        ),
    ];

    /// Look-alikes: low with every pack on.
    const LOOK_ALIKES: &[&str] = &[
        "kubectl get ns",
        "kubectl delete pod web-1 --dry-run=client",
        "kubectl describe namespace prod",
        "echo kubectl delete namespace prod",
        "kubectl scale deploy/web --replicas=3",
        "helm list",
        "terraform plan -destroy",
        "terraform apply",
        "terraform state list",
        "rg 'terraform destroy' docs",
        "docker volume ls",
        "docker ps -a",
        "docker compose down",
        "aws s3 ls s3://bucket",
        "aws s3 cp x s3://bucket/x",
        "aws ec2 describe-instances",
        "aws s3 cp delete-me.txt s3://bucket/",
        "gcloud compute instances list",
        "az group list",
        "psql -c 'SELECT * FROM drop_log'",
        "psql -c \"select 'truncate'\"",
        "mysql -e 'SHOW TABLES'",
        "grep -r 'DROP TABLE' migrations",
        "redis-cli GET flushall-count",
        "vault kv get secret/app",
        "vault secrets list",
        "restic snapshots",
        "restic forget --prune --dry-run --keep-last 1",
        "borg list /backups",
        "borg prune -n --keep-daily 7 /backups",
        "rclone copy a remote:b",
    ];

    #[test]
    fn every_pack_parses_and_its_ids_are_unique() {
        let mut ids = Vec::new();
        for (name, _) in PACKS {
            let pack = pack(name).unwrap();
            assert!(!pack.description.is_empty());
            for rule in &pack.rules {
                crate::learn::declared::check_id(&rule.id).unwrap();
                ids.push(rule.id.clone());
            }
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "a rule id is in two packs or twice in one");
        let all = with(&[ALL]);
        assert_eq!(
            all.rules()
                .iter()
                .filter(|r| matches!(r.origin, Origin::Pack(_)))
                .count(),
            n
        );
    }

    #[test]
    fn each_pack_judges_its_dangerous_commands_and_only_when_on() {
        let ctx = Context::default();
        for (pack, line, level, rule) in CASES {
            let on = judge_line(line, &with(&[pack]), &ctx);
            assert_eq!(on.level, *level, "{line} with {pack}: {:?}", on.reasons);
            assert!(on.reasons.iter().any(|r| r.rule == *rule), "{line}: {:?}", on.reasons);
            let off = judge_line(line, &RuleSet::builtin(), &ctx);
            assert!(!off.reasons.iter().any(|r| r.rule == *rule), "{line} without packs");
            let others: Vec<&str> = PACKS.iter().map(|(n, _)| *n).filter(|n| n != pack).collect();
            let elsewhere = judge_line(line, &with(&others), &ctx);
            assert!(!elsewhere.reasons.iter().any(|r| r.rule == *rule), "{line}");
        }
    }

    #[test]
    fn look_alikes_stay_low_with_every_pack_on() {
        let all = with(&[ALL]);
        for line in LOOK_ALIKES {
            let v = judge_line(line, &all, &Context::default());
            assert_eq!(v.level, Level::Low, "{line}: {:?}", v.reasons);
        }
    }

    #[test]
    fn wrappers_do_not_hide_pack_commands() {
        let all = with(&[ALL]);
        for line in [
            "sudo kubectl delete ns prod",
            "bash -c 'terraform destroy -auto-approve'",
            "env AWS_PROFILE=prod aws s3 rb s3://b",
        ] {
            assert_eq!(judge_line(line, &all, &Context::default()).level, Level::High, "{line}");
        }
    }

    #[test]
    fn the_docs_list_every_pack_and_its_rules() {
        let docs = include_str!("../../docs/learn.md");
        for (name, _) in PACKS {
            let pack = pack(name).unwrap();
            assert!(
                docs.contains(&format!("#### `{name}`\n\n{}.", pack.description)),
                "{name}"
            );
            for r in &pack.rules {
                let level = r.level.unwrap();
                let row = format!("| `{}` | {level} | {} |", r.id, r.why.as_deref().unwrap_or(""));
                assert!(docs.contains(&row), "docs/learn.md lacks the row {row}");
            }
        }
    }

    #[test]
    fn unknown_pack_names_are_invalid_with_the_list() {
        let err = crate::error::Error::from(enabled(&["kubernetes".into(), "k8s".into()]).unwrap_err());
        assert_eq!(err.exit_code(), 2);
        assert!(err.hint.contains("kubernetes, terraform"), "{}", err.hint);
        assert_eq!(enabled(&[]).unwrap().len(), 0);
        assert_eq!(enabled(&[ALL.into()]).unwrap().len(), PACKS.len());
    }
}
